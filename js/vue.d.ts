// `import "direct-upload/vue"`: defines <direct-upload> (as `import "direct-upload"` does)
// and lets vue-tsc type-check it in templates: its attributes, and its events as
// `@upload-success="(e) => e.detail.id"`. Tell Vue's compiler it is a custom element
// (`compilerOptions.isCustomElement`), see the README.
import type { HTMLAttributes, ReservedProps } from "vue";
import type { DirectUploadAttributes, DirectUploadElement, DirectUploadEventMap } from "./direct-upload.js";

export * from "./direct-upload.js";

type Pascal<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Capitalize<Head>}${Pascal<Tail>}` : Capitalize<S>;
type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Pascal<Tail>}` : S;

/**
 * The attributes as vue-tsc checks them: it camelizes `max-files` to `maxFiles` before it
 * looks the prop up. Write them kebab-case in templates (`max-files="5"`): Vue sets an
 * unknown prop of a custom element as the attribute written.
 */
export type DirectUploadVueAttributes = {
  [K in keyof DirectUploadAttributes as Camel<K>]: DirectUploadAttributes[K];
};

/** `onUploadStart`, `onUploadSuccess`, …: what `@upload-start`, `@upload-success` become. */
export type DirectUploadVueEvents = {
  [K in keyof DirectUploadEventMap as `on${Pascal<K>}`]?: (event: DirectUploadEventMap[K]) => void;
};

/** The props of `<direct-upload>` in a Vue template. */
export type DirectUploadVueProps = HTMLAttributes & ReservedProps & DirectUploadVueAttributes & DirectUploadVueEvents;

declare module "vue" {
  interface GlobalComponents {
    "direct-upload": new () => DirectUploadElement & { $props: DirectUploadVueProps };
  }
}
