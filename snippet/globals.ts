// The browser globals the snippet uses in several modules, cached once (each minifies to one letter). navigator is
// written out where it is used: four uses of the long name gzip smaller than the alias.
export const doc = document as Document & { prerendering?: boolean };
export const loc = location;
