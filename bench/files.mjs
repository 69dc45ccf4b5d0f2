// The benchmark's input files: deterministic PNGs of an exact byte size, generated once into
// a cache directory and reused by every contender and every run.
//
// Each file is an RGB image of noisy pixels (so no codec can shrink it: what is sent is what
// the size says), stored with deflate level 0, and padded to the exact size with a tEXt chunk.
// Every file has its own pixels (the seed is the size and the index), well inside Cloudflare's
// limits: 10 MB, 12,000 px a side, 100 megapixels.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

// Bump when the bytes of the files change, so that an old cache is regenerated.
const VERSION = 1;
const CLOUDFLARE_MAX_BYTES = 10 * 1024 * 1024;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buffers) {
  let c = 0xffffffff;
  for (const buffer of buffers) for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]));
  return Buffer.concat([head, data, crc]);
}

// mulberry32: a small seeded generator, so the same files come out on every machine.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** One PNG of exactly `size` bytes; `seed` picks its pixels. */
export function png(size, seed) {
  if (size > CLOUDFLARE_MAX_BYTES) throw new Error(`${size} bytes is over Cloudflare's 10 MB`);
  // Stored deflate costs 5 bytes a 64 KiB block; the rest is signature, IHDR, IDAT and IEND
  // framing, zlib's header and checksum, and an empty tEXt chunk's 12 + 8 bytes.
  const fixed = 8 + 25 + 12 + 6 + 12 + 20;
  const budget = size - fixed - 5 * Math.ceil(size / 65535) - 5;
  const width = Math.max(1, Math.floor(Math.sqrt(budget / 3)));
  const height = Math.max(1, Math.floor(budget / (1 + 3 * width)));
  const raw = Buffer.alloc(height * (1 + 3 * width));
  const next = random(seed);
  for (let i = 0; i + 4 <= raw.length; i += 4) raw.writeUInt32LE(next(), i);
  for (let row = 0; row < height; row++) raw[row * (1 + 3 * width)] = 0; // filter: none
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  const parts = [
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 0 })),
  ];
  const used = parts.reduce((sum, p) => sum + p.length, 0) + 12 + 12;
  const pad = size - used - 8; // "Comment\0" before the padding
  if (pad < 0) throw new Error(`cannot make a ${size}-byte PNG (${-pad} bytes over)`);
  parts.push(chunk("tEXt", Buffer.concat([Buffer.from("Comment\0", "latin1"), Buffer.alloc(pad, 0x2e)])));
  parts.push(chunk("IEND", Buffer.alloc(0)));
  const file = Buffer.concat(parts);
  if (file.length !== size) throw new Error(`made ${file.length} bytes, wanted ${size}`);
  return { file, width, height };
}

/**
 * The paths of `count` files of `size` bytes under `cacheDir`, generated if the cache does not
 * hold them yet (a `complete` marker, written last, says a set is whole).
 */
export function fileSet(cacheDir, count, size) {
  const dir = join(cacheDir, `v${VERSION}-${count}x${size}`);
  const names = Array.from({ length: count }, (_, i) => `${String(i).padStart(4, "0")}.png`);
  const paths = names.map((name) => join(dir, name));
  if (!existsSync(join(dir, "complete"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const digest = createHash("sha256");
    names.forEach((name, i) => {
      const { file } = png(size, size * 7919 + i);
      writeFileSync(join(dir, name), file);
      digest.update(file);
    });
    writeFileSync(join(dir, "complete"), digest.digest("hex") + "\n");
  }
  if (readdirSync(dir).length !== count + 1) throw new Error(`${dir} is not a whole file set`);
  return paths;
}
