export const sidecarName = 'csi-attacher';
