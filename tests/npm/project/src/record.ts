// What a page saw, for scripts/npm-package-test.sh's browser to read.
declare global {
  interface Window {
    seen: { type: string; value: unknown }[];
  }
}

export function record(type: string, value: unknown): void {
  (window.seen ??= []).push({ type, value });
}
