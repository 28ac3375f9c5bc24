// Where the tests find the repo, the model store and the store's photos.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS = resolve(process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models'));
// the store's photos sit beside its models (../shared/images), so FEATVIZ_MODELS alone is enough
export const IMAGES = resolve(process.env.FEATVIZ_IMAGES || resolve(MODELS, '../images'));
export const model = (name) => resolve(MODELS, name);
export const image = (name) => resolve(IMAGES, name);
