// React 19 users import this for the JSX types of <direct-upload> (react.d.ts); at run time
// it is the entry itself.
export * from "./direct-upload.js";
