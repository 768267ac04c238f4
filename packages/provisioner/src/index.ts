export const sidecarName = 'csi-provisioner';
