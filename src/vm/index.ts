/** The vm layer: disk images, qemu boots with console checks, offline updates, boot-test records. */
export { createImage, updateImage, readPartitions, defaultBootEntry, withMountedImage, BOOT_LABEL, ROOT_LABEL, type ImageOptions, type ImageResult, type Partition } from './image.ts';
export { Vm, bootCheck, kvmWorks, MULTI_USER, type Accel, type VmOptions, type BootCheck } from './qemu.ts';
export { bootTest, readBootTest, type BootTestRecord } from './boot-test.ts';
