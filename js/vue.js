// Vue users import this for the template types of <direct-upload> (vue.d.ts); at run time it
// is the entry itself.
export * from "./direct-upload.js";
