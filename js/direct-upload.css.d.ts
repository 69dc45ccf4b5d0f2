// `import "direct-upload/direct-upload.css"` (a bundler puts the stylesheet in its CSS
// output): this lets TypeScript's noUncheckedSideEffectImports (on by default since 6.0)
// find the import. It exports nothing.
export {};
