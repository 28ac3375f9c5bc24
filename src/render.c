/* render.c — the optimization loop of feature visualization: one step is
 * params → image → transforms → model input → forward (truncated at the
 * deepest layer the objective reads) → objective and its gradient → backward
 * to the input → transform and param adjoints → Adam. Everything is allocated
 * in fv_render_new; a step allocates nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alpha.h"
#include "graph.h"
#include "model.h"
#include "objective.h"
#include "optim.h"
#include "options.h"
#include "param.h"
#include "prior.h"
#include "profile.h"
#include "rng.h"
#include "transform.h"

struct fv_render {
  const fv_model *m;
  fv_render_opts o;
  char *options_json;
  fv_param *param;
  fv_transform *tf;      /* NULL: the image goes to the model as it is */
  fv_alpha *alpha;       /* alpha on: the composite over a fresh background (alpha.h); else NULL */
  float *dalpha;         /* alpha on: dLoss/dalpha [n,size,size] */
  fv_graph *g;
  fv_adam *adam;
  fv_rng rng;            /* the transforms' draws */
  int n, size;           /* batch, image side */
  int gh, gw;            /* the model input's size */
  float *x_img;          /* transformed image [n,gh,gw,3] in [0,1] */
  float *dx_img;         /* dLoss/dx_img */
  float *dimg;           /* dLoss/dimage [n,size,size,3] */
  float *good;           /* params of the last finite step */
  uint8_t *rgba;         /* [n][size][size][4] */
  int rgba_dirty;
  int image_fresh;       /* the param's image is the render of its current values (no update since) */
  int steps_done;
  float objective;
  float *prior_scratch;  /* the prior terms' (src/prior.h) */
};

/* ==== set-up ========================================================================= */

static int deepest_layer(const fv_render_opts *o) {
  int deepest = -1;
  for (int i = 0; i < o->n_terms; i++)
    if (!fv_obj_on_image(o->terms[i].kind) && o->terms[i].layer > deepest) deepest = o->terms[i].layer;
  return deepest;
}

/* Checks each term against the shape of what it reads at the planned size. */
static fv_status check_terms(fv_render *r, fv_error *err) {
  int img[4] = {r->n, r->size, r->size, 3};
  for (int i = 0; i < r->o.n_terms; i++) {
    const fv_obj_term *t = &r->o.terms[i];
    const int *d = fv_obj_on_image(t->kind) ? img : fv_graph_dims(r->g, r->m->ops[t->layer].output);
    fv_status s = fv_obj_check(t, d, err);
    if (s != FV_OK) return s;
  }
  return FV_OK;
}

static fv_status setup_transform(fv_render *r, fv_error *err) {
  if (r->o.transforms == FV_TRANSFORMS_NONE && r->gh == r->size && r->gw == r->size) return FV_OK;
  fv_transform_opts to;
  if (r->o.transforms == FV_TRANSFORMS_STANDARD) fv_transform_opts_standard(&to, r->n, r->size, r->size, r->gh, r->gw);
  else fv_transform_opts_init(&to, r->n, r->size, r->size, r->gh, r->gw);
  r->tf = fv_transform_new(&to, err);
  return r->tf ? FV_OK : (fv_status)err->code;
}

fv_render *fv_render_new(const fv_model *m, const char *json, size_t len, fv_error *err) {
  return fv_render_new_prior(m, json, len, NULL, err);
}

fv_render *fv_render_new_prior(const fv_model *m, const char *json, size_t len, const fv_prior *prior, fv_error *err) {
  fv_error local;
  if (!err) err = &local;
  fv_error_clear(err);
  if (!m || !json) {
    fv_error_set(err, FV_ERR_BAD_ARG, "a render needs a model and options");
    return NULL;
  }
  fv_render *r = (fv_render *)calloc(1, sizeof *r);
  if (!r) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  r->m = m;
  if (fv_options_parse(json, len, m, &r->o, err) != FV_OK) {
    free(r);
    return NULL;
  }
  r->n = r->o.batch;
  r->size = r->o.size;
  r->options_json = fv_options_to_json(&r->o, m);
  if (!r->options_json) goto oom;

  /* the model runs at the render size when it can (convolutional layers take any
   * size); a layer after a fixed-size op (a class logit) needs the native size */
  int last = deepest_layer(&r->o);
  r->gh = r->gw = r->size;
  fv_error probe;
  if (fv_model_check_size(m, r->size, r->size, &probe) != FV_OK ||
      !fv_graph_plan_bytes(m, r->n, r->size, r->size, last, 1, &probe)) {
    if (probe.code != FV_ERR_SHAPE) {
      *err = probe;
      goto fail;
    }
    const fv_tensor *in = &m->tensors[m->input];
    r->gh = in->dims[1];
    r->gw = in->dims[2];
  }
  { /* the terms' layers are read and seeded here: never views of a concat (graph.h) */
    int pins[FV_MAX_TERMS], n_pins = 0;
    for (int i = 0; i < r->o.n_terms; i++)
      if (!fv_obj_on_image(r->o.terms[i].kind)) pins[n_pins++] = m->ops[r->o.terms[i].layer].output;
    r->g = fv_graph_new_views(m, r->n, r->gh, r->gw, last, 1, pins, n_pins, err);
    /* the channels each term reads (fv_obj_channels): the graph computes no more */
    int reads[FV_MAX_TERMS][3], n_reads = 0;
    for (int i = 0; i < r->o.n_terms && r->g; i++) {
      const fv_obj_term *t = &r->o.terms[i];
      if (fv_obj_on_image(t->kind)) continue;
      reads[n_reads][0] = m->ops[t->layer].output;
      fv_obj_channels(t, &reads[n_reads][1], &reads[n_reads][2]);
      n_reads++;
    }
    if (r->g) fv_graph_prune(r->g, n_reads, (const int(*)[3])reads);
  }
  if (!r->g) goto fail;
  for (int i = 0; i < r->o.n_terms && prior; i++) { /* the prior terms share one scratch (a step runs them in turn) */
    if (r->o.terms[i].kind != FV_OBJ_PRIOR) continue;
    if (!r->prior_scratch && !(r->prior_scratch = (float *)malloc(fv_prior_scratch_floats(prior) * sizeof(float)))) goto oom;
    r->o.terms[i].prior = prior;
    r->o.terms[i].prior_scratch = r->prior_scratch;
  }

  if (check_terms(r, err) != FV_OK) goto fail;

  fv_param_opts po;
  fv_param_opts_default(&po);
  po.kind = r->o.param;
  po.n = r->n;
  po.h = po.w = r->size;
  po.decorrelate = r->o.decorrelate;
  po.decay_power = r->o.decay_power;
  po.seed = r->o.seed;
  po.alpha = r->o.alpha;
  po.shared = r->o.shared;
  r->param = fv_param_new(&po, err);
  if (!r->param) goto fail;
  if (r->o.alpha) {
    r->alpha = fv_alpha_new(r->n, r->size, r->size, r->o.alpha_blur, r->o.seed, err);
    r->dalpha = (float *)malloc((size_t)r->n * r->size * r->size * sizeof(float));
    if (!r->alpha) goto fail;
    if (!r->dalpha) goto oom;
  }
  if (setup_transform(r, err) != FV_OK) goto fail;
  r->adam = fv_adam_new(fv_param_count(r->param), r->o.lr, err);
  if (!r->adam) goto fail;
  /* the transforms draw from their own stream, so they do not shift the init */
  fv_rng_seed(&r->rng, r->o.seed ^ 0x7472616E73666F72ull);

  size_t img = (size_t)r->n * r->size * r->size * 3, gin = (size_t)r->n * r->gh * r->gw * 3;
  r->x_img = (float *)malloc(gin * sizeof(float));
  r->dx_img = (float *)malloc(gin * sizeof(float));
  r->dimg = (float *)malloc(img * sizeof(float));
  r->good = (float *)malloc(fv_param_count(r->param) * sizeof(float));
  r->rgba = (uint8_t *)malloc((size_t)r->n * r->size * r->size * 4);
  if (!r->x_img || !r->dx_img || !r->dimg || !r->good || !r->rgba) goto oom;
  memcpy(r->good, fv_param_values(r->param), fv_param_count(r->param) * sizeof(float));
  r->rgba_dirty = 1;
  for (int i = 0; i < r->o.n_terms; i++) {
    /* a diversity term sizes its scratch on first use: do that now, on the
     * zeroed arena, so a render that cannot fit fails here and not mid-run */
    const fv_obj_term *t = &r->o.terms[i];
    if (t->kind != FV_OBJ_DIVERSITY) continue;
    int out = m->ops[t->layer].output;
    if (!isfinite(fv_obj_value(t, fv_graph_dims(r->g, out), fv_graph_act(r->g, out)))) goto oom;
  }
  return r;
oom:
  fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a render of %d images at %dx%d", r->n, r->size, r->size);
fail:
  fv_render_free(r);
  return NULL;
}

void fv_render_free(fv_render *r) {
  if (!r) return;
  fv_graph_free(r->g);
  fv_param_free(r->param);
  fv_transform_free(r->tf);
  fv_alpha_free(r->alpha);
  free(r->dalpha);
  fv_adam_free(r->adam);
  fv_options_free(&r->o);
  free(r->options_json);
  free(r->x_img);
  free(r->dx_img);
  free(r->dimg);
  free(r->good);
  free(r->rgba);
  free(r->prior_scratch);
  free(r);
}

/* ==== one step ============================================================================ */

/* No Inf or NaN: the largest exponent field seen is below all-ones. A max over
 * the bits instead of an early exit, so the loop vectorizes. */
static int all_finite(const float *x, size_t n) {
  uint32_t most = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t b;
    memcpy(&b, &x[i], sizeof b);
    b &= 0x7f800000u;
    most = b > most ? b : most;
  }
  return most != 0x7f800000u;
}

/* The image of the current params: the last render's when nothing has moved them since. */
static const float *current_image(fv_render *r) {
  const float *rgb = r->image_fresh ? fv_param_image(r->param) : fv_param_render(r->param);
  r->image_fresh = 1;
  return rgb;
}

/* The profile's stage laps (profile.h, level FV_PROFILE_STAGES): lap() books the
 * time since *clk to a stage and restarts the clock; off, both are a flag check. */
static double lap_start(void) { return fv_profile_on >= FV_PROFILE_STAGES ? fv_profile_now_ms() : 0.0; }

static void lap(const char *stage, int backward, double *clk) {
  if (fv_profile_on < FV_PROFILE_STAGES) return;
  fv_profile_add_stage(stage, backward, *clk);
  *clk = fv_profile_now_ms();
}

static fv_status step(fv_render *r, fv_error *err) {
  const fv_model *m = r->m;
  double clk = lap_start();
  const float *rgb = current_image(r); /* rendered already when the display asked for it since the last update */
  size_t gin = (size_t)r->n * r->gh * r->gw * 3, img = (size_t)r->n * r->size * r->size * 3;
  lap("param", 0, &clk);
  /* what the network sees: the image, or with alpha its composite over this step's background */
  const float *seen = r->alpha ? fv_alpha_composite(r->alpha, rgb, fv_param_alpha(r->param)) : rgb;

  /* image → transformed image → the model's value range */
  if (r->tf) {
    fv_transform_sample(r->tf, &r->rng);
    fv_transform_forward(r->tf, seen, r->x_img);
  } else {
    memcpy(r->x_img, seen, gin * sizeof(float));
  }
  lap("transform", 0, &clk);
  /* network channel k = offset[k] + 255·scale[k] · image channel (bgr ? 2 − k : k) */
  const int bgr = m->in_bgr;
  const float span[3] = {255.0f * m->in_scale[0], 255.0f * m->in_scale[1], 255.0f * m->in_scale[2]};
  float *x = fv_graph_input(r->g);
  for (size_t i = 0; i < gin; i += 3)
    for (int k = 0; k < 3; k++) x[i + k] = m->in_offset[k] + span[k] * r->x_img[i + (bgr ? 2 - k : k)];
  lap("input range", 0, &clk);
  fv_graph_forward(r->g); /* the ops time themselves */
  clk = lap_start();

  /* objective terms on layers seed the gradient (each buffer is zeroed on first use: graph.c) */
  fv_graph_zero_grad(r->g);
  double objective = 0;
  for (int i = 0; i < r->o.n_terms; i++) {
    const fv_obj_term *t = &r->o.terms[i];
    if (fv_obj_on_image(t->kind)) continue;
    int out = m->ops[t->layer].output;
    objective += fv_obj_eval(t, fv_graph_dims(r->g, out), fv_graph_act(r->g, out), fv_graph_grad(r->g, out));
  }
  lap("objective", 1, &clk);
  fv_graph_backward(r->g, r->steps_done < r->o.redirect_steps);
  clk = lap_start();

  /* back through the value range and the transforms to the image */
  const float *gx = fv_graph_grad(r->g, m->input);
  for (size_t i = 0; i < gin; i += 3)
    for (int k = 0; k < 3; k++) r->dx_img[i + (bgr ? 2 - k : k)] = span[k] * gx[i + k];
  lap("input range", 1, &clk);
  if (r->tf) fv_transform_backward(r->tf, r->dx_img, r->dimg);
  else memcpy(r->dimg, r->dx_img, img * sizeof(float));
  lap("transform", 1, &clk);
  if (r->alpha) { /* back through the composite: dimg is dLoss/dcomposite, becomes dLoss/dimage */
    const float *a = fv_param_alpha(r->param);
    objective = fv_alpha_backward(r->alpha, objective, r->dimg, rgb, a, r->dimg, r->dalpha);
  }

  /* penalties on the image itself */
  int dims[4] = {r->n, r->size, r->size, 3};
  for (int i = 0; i < r->o.n_terms; i++)
    if (fv_obj_on_image(r->o.terms[i].kind)) objective += fv_obj_eval(&r->o.terms[i], dims, rgb, r->dimg);
  lap("objective", 1, &clk);

  const float *gp = fv_param_backward_rgba(r->param, r->dimg, r->dalpha);
  lap("param", 1, &clk);
  size_t np = fv_param_count(r->param);
  if (!isfinite(objective) || !all_finite(gp, np)) {
    fv_error_set(err, FV_ERR_NUMERIC,
                 "the optimization blew up at step %d (the objective or its gradient is not finite); "
                 "the last good image is kept — try a smaller learning rate",
                 r->steps_done + 1);
    return FV_ERR_NUMERIC;
  }
  fv_adam_step(r->adam, fv_param_values(r->param), gp);
  r->image_fresh = 0;
  if (!all_finite(fv_param_values(r->param), np)) {
    memcpy(fv_param_values(r->param), r->good, np * sizeof(float));
    r->image_fresh = 1; /* the good params are the ones this step rendered */
    fv_error_set(err, FV_ERR_NUMERIC, "the optimization blew up at step %d; the last good image is kept",
                 r->steps_done + 1);
    return FV_ERR_NUMERIC;
  }
  memcpy(r->good, fv_param_values(r->param), np * sizeof(float));
  lap("adam", 1, &clk);
  r->objective = (float)objective;
  r->steps_done++;
  r->rgba_dirty = 1;
  return FV_OK;
}

fv_status fv_render_step(fv_render *r, int steps, fv_error *err) {
  fv_error_clear(err);
  if (!r || steps < 0) {
    fv_error_set(err, FV_ERR_BAD_ARG, "steps must be 0 or more, got %d", steps);
    return FV_ERR_BAD_ARG;
  }
  for (int i = 0; i < steps; i++) {
    fv_status s = step(r, err);
    if (s != FV_OK) return s;
  }
  return FV_OK;
}

/* ==== results ============================================================================= */

int fv_render_steps_done(const fv_render *r) { return r ? r->steps_done : 0; }
int fv_render_steps_planned(const fv_render *r) { return r ? r->o.steps : 0; }
int fv_render_batch(const fv_render *r) { return r ? r->n : 0; }
int fv_render_size(const fv_render *r) { return r ? r->size : 0; }
float fv_render_objective(const fv_render *r) { return r ? r->objective : NAN; }
const char *fv_render_options_json(const fv_render *r) { return r ? r->options_json : ""; }
double fv_render_flops(const fv_render *r) { return r ? 2.0 * fv_graph_flops(r->g) : 0; }

static uint8_t to_u8(float v) {
  float q = floorf(v * 255.0f + 0.5f);
  return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

const uint8_t *fv_render_rgba(fv_render *r, int image, fv_error *err) {
  fv_error_clear(err);
  if (!r || image < 0 || image >= r->n) {
    fv_error_set(err, FV_ERR_BAD_ARG, "image %d out of range (0..%d)", image, r ? r->n - 1 : -1);
    return NULL;
  }
  if (r->rgba_dirty) {
    const float *rgb = current_image(r); /* the current params, after the last update; the next step reuses it */
    const float *alpha = fv_param_alpha(r->param);
    size_t np = (size_t)r->n * r->size * r->size;
    for (size_t p = 0; p < np; p++) {
      for (int c = 0; c < 3; c++) r->rgba[4 * p + c] = to_u8(rgb[3 * p + c]);
      r->rgba[4 * p + 3] = alpha ? to_u8(alpha[p]) : 255;
    }
    r->rgba_dirty = 0;
  }
  return r->rgba + (size_t)image * r->size * r->size * 4;
}

/* Image i's RGBA at the PNG's side into out (side² · 4): the render's own pixels, or a
 * CPPN drawn again at that size (cppn_size). */
static int png_pixels(fv_render *r, int i, int side, uint8_t *out, fv_error *err) {
  if (side == r->size) {
    memcpy(out, fv_render_rgba(r, i, NULL), (size_t)side * side * 4);
    return 1;
  }
  const int ch = r->o.alpha ? 4 : 3;
  const size_t np = (size_t)side * side;
  float *f = (float *)malloc(np * ch * sizeof(float));
  if (!f) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a %dx%d drawing", side, side);
    return 0;
  }
  if (fv_param_draw(r->param, i, side, side, f, err) != FV_OK) {
    free(f);
    return 0;
  }
  for (size_t p = 0; p < np; p++) {
    for (int c = 0; c < 3; c++) out[4 * p + c] = to_u8(f[ch * p + c]);
    out[4 * p + 3] = ch == 4 ? to_u8(f[ch * p + 3]) : 255;
  }
  free(f);
  return 1;
}

/* A batch as one grid, ceil(sqrt(n)) columns, 2 white pixels between images; a CPPN at cppn_size. */
uint8_t *fv_render_png(fv_render *r, int image, size_t *out_len, fv_error *err) {
  fv_error_clear(err);
  if (!r || image < -1 || image >= r->n) {
    fv_error_set(err, FV_ERR_BAD_ARG, "image %d out of range (0..%d, or -1 for the grid)", image, r ? r->n - 1 : 0);
    return NULL;
  }
  const int s = r->o.cppn_size ? r->o.cppn_size : r->size;
  int cols = 1;
  while (image < 0 && cols * cols < r->n) cols++;
  const int count = image < 0 ? r->n : 1;
  int rows = (count + cols - 1) / cols, gap = 2;
  int w = cols * s + (cols - 1) * gap, h = rows * s + (rows - 1) * gap;
  uint8_t *grid = (uint8_t *)malloc((size_t)w * h * 4), *one = (uint8_t *)malloc((size_t)s * s * 4);
  if (!grid || !one) {
    free(grid);
    free(one);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  memset(grid, 255, (size_t)w * h * 4);
  uint8_t *png = NULL;
  for (int k = 0; k < count; k++) {
    const int i = image < 0 ? k : image;
    if (!png_pixels(r, i, s, one, err)) goto done;
    int x0 = (k % cols) * (s + gap), y0 = (k / cols) * (s + gap);
    for (int y = 0; y < s; y++) memcpy(grid + ((size_t)(y0 + y) * w + x0) * 4, one + (size_t)y * s * 4, (size_t)s * 4);
  }
  png = fv_png_encode(grid, w, h, 4, out_len, err);
done:
  free(grid);
  free(one);
  return png;
}
