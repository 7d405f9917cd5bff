// The upload page's pure helpers (engine/serve/web/hoist-uploader.mjs), in
// node without a browser: backoff, part layout, presignedUrls in both
// shapes, which failures retry and which fall back to the proxy.
//
//   node --test tests/browser/uploader_unit.mjs
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  ApiError, TransferError, addUrls, backoffMs, fingerprint, partCount, partLength, retryable, shouldFallBack,
} from '../../engine/serve/web/hoist-uploader.mjs'

const opts = { backoffBaseMs: 300, backoffCapMs: 8000 }

test('full-jitter backoff: uniform below min(cap, base * 2^attempt)', () => {
  assert.equal(backoffMs(0, { ...opts, random: () => 0 }), 0)
  assert.equal(backoffMs(0, { ...opts, random: () => 0.999 }), 299)
  assert.equal(backoffMs(3, { ...opts, random: () => 0.5 }), 1200)
  assert.equal(backoffMs(10, { ...opts, random: () => 0.5 }), 4000)   // capped at 8000
  assert.equal(backoffMs(40, { ...opts, random: () => 0.999 }), 7992)
})

test('part layout', () => {
  const MiB = 1024 * 1024
  assert.equal(partCount(0, 5 * MiB), 1)
  assert.equal(partLength(0, 1, 5 * MiB), 0)
  assert.equal(partCount(12 * MiB, 5 * MiB), 3)
  assert.deepEqual([1, 2, 3].map((n) => partLength(12 * MiB, n, 5 * MiB)), [5 * MiB, 5 * MiB, 2 * MiB])
  assert.equal(partCount(10 * MiB, 5 * MiB), 2)
  assert.equal(partLength(10 * MiB, 2, 5 * MiB), 5 * MiB)
  assert.equal(partCount(10 * MiB + 1, 5 * MiB), 3)
  assert.equal(partLength(10 * MiB + 1, 3, 5 * MiB), 1)
})

test('presignedUrls as objects and as strings', () => {
  const urls = new Map()
  addUrls(urls, [{ partNumber: 1, url: 'a' }, { partNumber: 2, url: 'b' }], null)
  addUrls(urls, ['c', 'd'], null)   // start, the product's shape: parts 1..
  assert.deepEqual([...urls], [[1, 'c'], [2, 'd']])
  addUrls(urls, ['x', 'y'], [7, 9])   // presign: in the order asked
  assert.equal(urls.get(7), 'x')
  assert.equal(urls.get(9), 'y')
  addUrls(urls, undefined, null)
  assert.equal(urls.size, 4)
})

test('which failures retry, which go through the proxy', () => {
  const blocked = new TransferError(0, 'network')
  const refused = new TransferError(403, 'AccessDenied')
  const busy = new TransferError(503, 'SlowDown')
  const bad = new TransferError(400, 'BadDigest')
  assert.ok(shouldFallBack(blocked) && shouldFallBack(refused))
  assert.ok(!shouldFallBack(busy) && !shouldFallBack(bad))
  assert.ok(!shouldFallBack(new ApiError(403, 'invalid_upload_token', 'x')))   // the service refusing is final
  assert.ok(retryable(blocked) && retryable(busy) && retryable(new TransferError(429, '')))
  assert.ok(!retryable(refused) && !retryable(bad))
  assert.ok(retryable(new ApiError(502, 'storage_error', '')) && retryable(new ApiError(0, 'network', '')))
  assert.ok(!retryable(new ApiError(401, 'unauthorized', '')) && !retryable(new ApiError(404, 'no_such_upload', '')))
  assert.ok(!retryable(new Error('bug')))
})

test('fingerprint: name, size, type and modification time', () => {
  const f = (over) => ({ name: 'a.bin', size: 10, type: 'x/y', data: { lastModified: 5 }, ...over })
  assert.equal(fingerprint(f({})), 'hoist-upload:a.bin:10:x/y:5')
  assert.notEqual(fingerprint(f({ size: 11 })), fingerprint(f({})))
  assert.notEqual(fingerprint(f({ data: { lastModified: 6 } })), fingerprint(f({})))
})
