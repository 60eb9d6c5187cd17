/** Node-only chart rendering (SVG, PNG, files); to be re-exported from `pixelgrad/node`. */
export { renderSvg, renderPng, saveChart, type PngOptions } from './render.js';
