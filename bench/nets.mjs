// nets.mjs — the networks of the named step workloads and their objectives (bench/workloads.mjs,
// bench/ab.mjs, bench/profile.mjs): the store's file and the channel each step maximizes.
export const STEP_NETS = {
  googlenet: { file: 'googlenet_bvlc.onnx', layer: 'inception_4c/output', channel: 97 },
  mobilenet: { file: 'mobilenet_v2_1.0_224_quant.tflite', layer: 'MobilenetV2/expanded_conv_8/add', channel: 12 },
};
