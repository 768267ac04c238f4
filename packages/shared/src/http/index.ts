export { parseListenAddress, type ListenAddress } from './address.js';
export { runCheck, validateCheckName, type CheckOutcome, type HealthCheck } from './health.js';
export { DEFAULT_METRICS_PATH, startHttpServer, type HttpServer, type HttpServerOptions } from './server.js';
