// The browser globals the snippet uses in several modules, cached once (each minifies to one letter).
export const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
export const doc = document as Document & { prerendering?: boolean };
export const loc = location;
