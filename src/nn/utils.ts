/**
 * `nn.utils` (torch.nn.utils): weight re-parameterisations applied to existing modules — `spectralNorm` and
 * `removeSpectralNorm`.
 */
export { spectralNorm, removeSpectralNorm, type SpectralNormOptions } from './spectral-norm.js';
