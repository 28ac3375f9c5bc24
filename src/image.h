/* image.h — internal helpers of image.c shared with the inference path.
 * The public image API (decode, resize, PNG) is in fv.h. */
#ifndef FV_IMAGE_H
#define FV_IMAGE_H

#include <stdint.h>

/* Bilinear resize of 8-bit RGB to float RGB in 0..255, half-pixel centres,
 * no antialias (torch's interpolate, align_corners=False). out: oh*ow*3. */
void fv_resize_bilinear_f32(const uint8_t *rgb, int iw, int ih, int ow, int oh, float *out);

#endif
