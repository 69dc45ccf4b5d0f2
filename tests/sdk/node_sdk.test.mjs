// Cloudflare's official Node SDK (npm `cloudflare`), unchanged, against the local service.
// Run by scripts/sdk-tests.sh with `node --test`, which passes the service URL in DU_SERVICE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateSync, crc32 } from 'node:zlib';
import Cloudflare, { toFile } from 'cloudflare';

const SERVICE = process.env.DU_SERVICE;
const account_id = '023e105f4ecef8ad9ca31a8372d0c353';
const client = new Cloudflare({ apiToken: 'local-dev-token', baseURL: `${SERVICE}/client/v4`, maxRetries: 0 });
const run = randomUUID().slice(0, 8);

/** A real PNG, written with zlib alone. */
function png(width, height) {
  const chunk = (kind, data) => {
    const head = Buffer.alloc(4); head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(kind), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4); header[8] = 8; header[9] = 2;
  const rows = Buffer.alloc((width * 3 + 1) * height, 120);
  for (let y = 0; y < height; y++) rows[y * (width * 3 + 1)] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

test('direct upload with nested metadata, then the browser-style upload', async () => {
  const created = await client.images.v2.directUploads.create({
    account_id, metadata: { album: 'trip', place: { city: 'Porto' } }, requireSignedURLs: true, creator: 'u-1',
  });
  assert.ok(created.uploadURL.endsWith(created.id));
  let record = await client.images.v1.get(created.id, { account_id });
  assert.deepEqual(record.meta, { album: 'trip', place: { city: 'Porto' } });
  assert.equal(record.requireSignedURLs, true);
  assert.equal(record.creator, 'u-1');
  const form = new FormData();
  form.append('file', new Blob([png(8, 8)], { type: 'image/png' }), 'trip.png');
  const answer = await fetch(created.uploadURL, { method: 'POST', body: form });
  assert.equal(answer.status, 200);
  record = await client.images.v1.get(created.id, { account_id });
  assert.equal(record.filename, 'trip.png');
});

test('rules come back as SDK errors', async () => {
  await client.images.v2.directUploads.create({ account_id, id: `node/custom-${run}` });
  await assert.rejects(client.images.v2.directUploads.create({ account_id, id: `node/custom-${run}` }), Cloudflare.ConflictError);
  await assert.rejects(client.images.v2.directUploads.create({ account_id, id: 'trailing/' }), Cloudflare.BadRequestError);
  await assert.rejects(client.images.v1.get('no-such-image', { account_id }), Cloudflare.NotFoundError);
});

test('upload, edit, blob, list, stats, keys, delete', async () => {
  const bytes = png(16, 12);
  const image = await client.images.v1.create({ account_id, file: await toFile(bytes, 'node.png', { type: 'image/png' }), metadata: { k: 'v' } });
  assert.equal(image.filename, 'node.png');
  assert.deepEqual(image.meta, { k: 'v' });
  const blob = await client.images.v1.blobs.get(image.id, { account_id });
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), bytes);
  const edited = await client.images.v1.edit(image.id, { account_id, metadata: { k: 'w' }, requireSignedURLs: true });
  assert.deepEqual(edited.meta, { k: 'w' });
  assert.equal(edited.requireSignedURLs, true);
  const v2 = await client.images.v2.list({ account_id, sort_order: 'desc', per_page: 10 });
  assert.ok(v2.images.some((i) => i.id === image.id));
  const stats = await client.images.v1.stats.get({ account_id });
  assert.ok(stats.count.current >= 1);
  const keys = await client.images.v1.keys.list({ account_id });
  assert.ok(keys.keys[0].value);
  const added = await client.images.v1.keys.update(`node${run}`, { account_id });
  assert.ok(added.keys.some((k) => k.name === `node${run}`));
  const left = await client.images.v1.keys.delete(`node${run}`, { account_id });
  assert.ok(!left.keys.some((k) => k.name === `node${run}`));
  await client.images.v1.delete(image.id, { account_id });
  await assert.rejects(client.images.v1.get(image.id, { account_id }), Cloudflare.NotFoundError);
});

test('variant lifecycle', async () => {
  const id = `nodehero${run}`;
  const created = await client.images.v1.variants.create({
    account_id, id, options: { fit: 'cover', metadata: 'none', width: 320, height: 180 }, neverRequireSignedURLs: true,
  });
  assert.equal(created.variant.options.width, 320);
  const got = await client.images.v1.variants.get(id, { account_id });
  assert.equal(got.variant.options.fit, 'cover');
  const edited = await client.images.v1.variants.edit(id, { account_id, options: { fit: 'contain', metadata: 'keep', width: 100, height: 100 } });
  assert.equal(edited.variant.options.fit, 'contain');
  const listed = await client.images.v1.variants.list({ account_id });
  assert.ok(id in listed.variants);
  await client.images.v1.variants.delete(id, { account_id });
  await assert.rejects(client.images.v1.variants.get(id, { account_id }), Cloudflare.NotFoundError);
});
