// The widget's files kept across a reload, in IndexedDB (the `persist` option). The File
// objects are stored as they are (IndexedDB keeps Blobs natively: no base64, no copy in JS).
// Each file: a record {scope, key, tried, image} and, beside it under key + 0.5 (inside the
// same scope's key range), {scope, key: key + 0.5, file}. `tried` is the image id of the last
// try that may have stored the file, so that after a reload the widget asks about it before
// sending the file again; `image` is the stored image (JSON text) once there is one. Apart,
// because putting a record copies every Blob in it: a new try or a stored image then writes a
// few bytes, not the whole file again. (Records kept before held their `file` themselves, and
// are still read.)
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

/** Runs `act(store)` in one transaction; resolves to its request's result (`true` when it
 * returns none) once committed, to `undefined` when it failed. */
async function run(mode, act) {
  try {
    const db = await database();
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = act(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request ? request.result : true);
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

// The scopes this page keeps. One page at a time keeps a scope: a second tab of the same page
// would otherwise take the files the first is still sending, send them again and store them
// twice. So the page holds the scope's Web Lock, and another page waits for it before it reads
// or writes the scope: a reload's new page until the old one has gone, a second tab until the
// first is closed (then it resumes what the first left). Without Web Locks (an insecure
// context) a page keeps its files unguarded.
const owned = new Set();
const releases = [];
const own = (scope) =>
  new Promise((resolve) =>
    navigator.locks
      ? navigator.locks.request(`${DB} ${scope}`, () => {
          resolve(owned.add(scope));
          return new Promise((release) => releases.push(release));
        })
      : resolve(owned.add(scope)),
  );

/** The records kept for `scope` before this page loaded, in key order (read once). */
export function keptFiles(scope) {
  if (!taken.has(scope)) {
    const read = own(scope).then(() =>
      run("readwrite", (store) => {
        const request = store.getAll(all(scope));
        request.onsuccess = () => store.delete(all(scope));
        return request;
      }),
    );
    // In key order, each file's record comes just before its File.
    const files = (records = []) =>
      records.filter((record, at) => {
        if (record.key % 1) return false;
        if (records[at + 1]?.key === record.key + 0.5) record.file = records[at + 1].file;
        return true;
      });
    taken.set(scope, read.then(files));
  }
  return taken.get(scope);
}

// Writing a record copies its File into the browser's storage: for a batch of large photos,
// hundreds of MB of disk and CPU taken from the uploads themselves (measured: 50 files of
// 8 MB took 1.48 × the time of a bare upload loop with every file written at once, 1.06 ×
// with none). So a file is written only once it has been kept for KEEP_AFTER_MS without
// being stored or forgotten: a batch that ends sooner copies nothing. The price: a reload in
// a batch's first seconds loses files the visitor chose a moment ago. The write started as
// the page goes away (`pagehide`) is best effort only: Chromium does not finish it for a
// reload.
const KEEP_AFTER_MS = 3000;
// Writes that are due within WRITE_EVERY_MS go in one transaction: each costs a round trip to
// the browser's storage process. The price is that a try started in the last few milliseconds
// before the tab died may not be noted, and is then sent again without being asked about.
const WRITE_EVERY_MS = 50;

// What this page keeps, per scope and key (each record also has `since`, when it was kept,
// `written`, and `fileWritten`, whether its File is in storage as it is now), and per scope
// what has changed since the last write: the keys touched and whether everything before was
// forgotten. A write puts each touched key's record as it is now (and its File if not yet
// written), or deletes both if it is gone, so nothing is written twice and nothing forgotten
// comes back.
const kept = new Map();
const changes = new Map();

function records(scope) {
  if (!kept.has(scope)) kept.set(scope, new Map());
  return kept.get(scope);
}

/** Writes what is due for `scope` (everything, when the page is going away). */
function flush(scope, everything) {
  const change = changes.get(scope);
  if (!change?.ready) return;
  clearTimeout(change.timer);
  change.timer = 0;
  const mine = records(scope);
  const now = Date.now();
  const clear = change.clear;
  const puts = [];
  const deletes = [];
  const filesPut = [];
  for (const key of change.touched) {
    const record = mine.get(key);
    if (!record) {
      deletes.push(key, key + 0.5);
      change.touched.delete(key);
    } else if (everything || record.written || now - record.since >= KEEP_AFTER_MS) {
      record.written = true;
      puts.push({ scope, key, tried: record.tried, image: record.image });
      if (!record.fileWritten) {
        puts.push({ scope, key: key + 0.5, file: record.file });
        filesPut.push(record);
        record.fileWritten = true;
      }
      change.touched.delete(key);
    }
  }
  change.clear = false;
  if (clear || puts.length || deletes.length) {
    run("readwrite", (store) => {
      if (clear) store.delete(all(scope));
      // A forgotten scope's range delete already covers its single deletes.
      if (!clear) for (const key of deletes) store.delete([scope, key]);
      for (const record of puts) store.put(record);
    }).then((committed) => {
      // Not written after all (a full quota, an aborted transaction): the next write of the
      // record carries its File again, so a record is never kept without it.
      if (committed === undefined) for (const record of filesPut) record.fileWritten = false;
    });
  }
  schedule(scope);
}

/** Sets the timer of the next write for `scope`, if anything is waiting, or brings it
 * forward (a file forgotten, or a change to a record already written, goes out at once). */
function schedule(scope) {
  const change = changes.get(scope);
  if (!change.ready || !(change.clear || change.touched.size)) return;
  const mine = records(scope);
  const now = Date.now();
  let wait = change.clear ? 0 : KEEP_AFTER_MS;
  for (const key of change.touched) {
    const record = mine.get(key);
    wait = Math.min(wait, record && !record.written ? KEEP_AFTER_MS - (now - record.since) : 0);
  }
  const at = now + Math.max(wait, WRITE_EVERY_MS);
  if (change.timer && change.at <= at) return;
  clearTimeout(change.timer);
  change.at = at;
  change.timer = setTimeout(() => flush(scope, false), at - now);
}

/** Notes that `key` of `scope` changed (or, with no key, that everything was forgotten); it
 * is written once the earlier records have been taken and it is due. */
function touch(scope, key) {
  let change = changes.get(scope);
  if (!change) {
    changes.set(scope, (change = { touched: new Set() }));
    keptFiles(scope).then(() => {
      change.ready = true;
      schedule(scope);
    });
  }
  if (key === undefined) change.clear = true;
  else change.touched.add(key);
  schedule(scope);
}

// A page going away writes everything waiting at once, as far as the browser lets it, then
// lets its locks go (IndexedDB runs those writes before any later reader's): a browser may
// keep a page holding a lock out of the back/forward cache (Chromium caches it, and evicts it
// when another page asks for the lock). Back from that cache, the page takes them again.
addEventListener("pagehide", () => {
  for (const scope of changes.keys()) flush(scope, true);
  for (const release of releases.splice(0)) release();
});
addEventListener("pageshow", (event) => {
  if (event.persisted) for (const scope of owned) own(scope);
});

/** Keeps `file` under `key`, with what is known of it; `resumed` (a file read back after a
 * reload, and so already copied once) is written at once, not after KEEP_AFTER_MS. */
export function keepFile(scope, key, file, tried, image, resumed) {
  records(scope).set(key, { file, tried, image, since: resumed ? 0 : Date.now() });
  touch(scope, key);
}

/** Sets one field (`file`, `tried` or `image`) of a kept record, if it is still kept. */
export function keepField(scope, key, field, value) {
  const record = records(scope).get(key);
  if (!record) return;
  record[field] = value;
  if (field === "file") record.fileWritten = false;
  touch(scope, key);
}

/** Forgets one file. */
export function forgetFile(scope, key) {
  records(scope).delete(key);
  touch(scope, key);
}

/** Forgets every file kept for `scope`. */
export function forgetAll(scope) {
  records(scope).clear();
  touch(scope);
}
