// The widget's files kept across a reload, in IndexedDB (the `persist` option). The File
// objects are stored as they are (IndexedDB keeps Blobs natively: no base64, no copy in JS).
// Each record: {scope, key, file, tried, image}. `tried` is the image id of the last try
// that may have stored the file, so that after a reload the widget asks about it before
// sending the file again; `image` is the stored image (JSON text) once there is one.
//
// Storage can fail (private windows, quota, a browser without IndexedDB): the widget then
// works as without `persist`, and says so once on the console. Nothing here ever throws.
const DB = "direct-upload";
const STORE = "files";
let opened;
let warned = false;

function warn(error) {
  if (warned) return;
  warned = true;
  console.warn(`direct-upload: files are not kept across a reload (${error?.message ?? error})`);
}

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: ["scope", "key"] });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

/** Runs `act(store)` in one transaction; resolves to its request's result once committed. */
async function run(mode, act) {
  try {
    const db = await database();
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = act(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request?.result);
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
  } catch (error) {
    warn(error);
    return undefined;
  }
}

const all = (scope) => IDBKeyRange.bound([scope, 0], [scope, Infinity]);

// Per scope, the records kept before this page loaded, read and forgotten in one transaction
// the first time they are asked for. Every write for the scope waits for that read, so the
// files of this page are never mistaken for files kept before it.
const taken = new Map();

/** The records kept for `scope` before this page loaded, in key order (read once). */
export function keptFiles(scope) {
  if (!taken.has(scope)) {
    const read = run("readwrite", (store) => {
      const request = store.getAll(all(scope));
      request.onsuccess = () => store.delete(all(scope));
      return request;
    });
    taken.set(scope, read.then((records) => records ?? []));
  }
  return taken.get(scope);
}

// Writes asked for within WRITE_EVERY_MS go in one transaction, in order: each transaction
// costs a round trip to the browser's storage process, and a batch of a thousand small files
// asks for three writes a file. The price is that a try started in the last few milliseconds
// before the tab died may not be noted, and is then sent again without being asked about.
const WRITE_EVERY_MS = 50;
// Per scope: the writes waiting, and whether the earlier records have been taken yet.
const pending = new Map();

function flush(scope) {
  const waiting = pending.get(scope);
  pending.delete(scope);
  clearTimeout(waiting.timer);
  run("readwrite", (store) => waiting.batch.forEach((each) => each(store)));
}

/** Runs a write for `scope` once its earlier records have been taken, with the other writes
 * asked for meanwhile, in order. */
function write(scope, act) {
  let waiting = pending.get(scope);
  if (!waiting) {
    pending.set(scope, (waiting = { batch: [], ready: false, timer: 0 }));
    keptFiles(scope).then(() => {
      waiting.ready = true;
      waiting.timer = setTimeout(() => pending.get(scope) === waiting && flush(scope), WRITE_EVERY_MS);
    });
  }
  waiting.batch.push(act);
}

// A page going away (a reload, a link, a closed tab) writes what is waiting at once.
addEventListener("pagehide", () => {
  for (const [scope, waiting] of pending) if (waiting.ready) flush(scope);
});

// What this page keeps, per scope and key: writes are whole records, in the order they are
// asked for (a read-modify-write inside a batch could put back a record a later delete in the
// same batch removed).
const kept = new Map();

function records(scope) {
  if (!kept.has(scope)) kept.set(scope, new Map());
  return kept.get(scope);
}

/** Keeps `file` under `key`, with what is known of it. */
export function keepFile(scope, key, file, tried, image) {
  const record = { scope, key, file, tried, image };
  records(scope).set(key, record);
  write(scope, (store) => store.put(record));
}

/** Sets one field (`file`, `tried` or `image`) of a kept record, if it is still kept. */
export function keepField(scope, key, field, value) {
  const record = records(scope).get(key);
  if (!record) return;
  record[field] = value;
  const now = { ...record };
  write(scope, (store) => store.put(now));
}

/** Forgets one file. */
export function forgetFile(scope, key) {
  records(scope).delete(key);
  write(scope, (store) => store.delete([scope, key]));
}

/** Forgets every file kept for `scope`. */
export function forgetAll(scope) {
  records(scope).clear();
  write(scope, (store) => store.delete(all(scope)));
}
