export const sidecarName = 'csi-resizer';
