// hoist's own Uppy uploader: files go straight to S3 through part URLs that
// hoist serve presigns (its JSON API), and through hoist serve's part proxy
// when the browser may not reach the storage. Why not Uppy's @uppy/aws-s3:
// Uppy 6 sends a file's parts one at a time and has no proxy fallback.
//
// What it does, per file:
// - up to `singlePutMax` bytes: one presigned PUT ("single-put"); larger: a
//   multipart upload whose parts go `partConcurrency` at a time
//   ("presigned-s3"), or through the proxy once a direct PUT was refused or
//   blocked ("chunked-s3": every remaining part of that file);
// - retries each request with full-jitter exponential backoff;
// - progress per part as bytes leave (XMLHttpRequest's upload progress:
//   fetch() has none), so Uppy's status bar shows a smooth rate and ETA;
// - pause (in-flight parts are dropped and re-sent on resume), cancel (the
//   multipart upload is aborted), and resume after a page reload: the upload's
//   {uploadId, s3Key, uploadToken} are kept in localStorage under the file's
//   fingerprint, and on re-adding the same file list-parts says which parts
//   the storage already has; only the others are sent.
//
// Authentication is the session cookie (hoist serve's POST /v1/session):
// every call to the service is same-origin with credentials, and nothing
// secret is kept in the page. Calls to the storage carry no credentials.
import { BasePlugin } from './vendor/uppy-6.0.1/uppy.min.mjs'

const MiB = 1024 * 1024

const defaults = {
  apiPath: '/v1/presigned-upload',
  proxyPrefix: '/v1/uploads/',
  singlePutMax: 8 * MiB,   // hoist serve's default single_put_max
  partConcurrency: 4,      // parts in flight per file; browsers allow 6 connections per origin
  attempts: 5,             // per request
  backoffBaseMs: 300,
  backoffCapMs: 8000,
  presignBatch: 10,        // part URLs asked for at a time, ahead of need
  storage: globalThis.localStorage,
  random: Math.random,
}

// The names `hoist cp --via` reports, shown per file on the page.
export const METHOD = { direct: 'presigned-s3', proxy: 'chunked-s3', single: 'single-put' }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

// A request the browser could not make or the storage refused: `status` 0
// for a network error (CORS, a blocked host, a reset), else the HTTP status.
export class TransferError extends Error {
  constructor(status, message) {
    super(message)
    this.name = 'TransferError'
    this.status = status
  }
}

class PausedError extends Error {
  constructor() {
    super('paused')
    this.name = 'PausedError'
  }
}

class CancelledError extends Error {
  constructor() {
    super('cancelled')
    this.name = 'CancelledError'
  }
}

// Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
// uniformly 0..min(cap, base * 2^attempt), so clients that failed together
// do not retry together.
export function backoffMs(attempt, { backoffBaseMs, backoffCapMs, random }) {
  return Math.floor(random() * Math.min(backoffCapMs, backoffBaseMs * 2 ** attempt))
}

// What identifies "the same file" across a reload: the browser gives no
// path, so name, size, type and modification time.
export function fingerprint(file) {
  const d = file.data
  return `hoist-upload:${file.name}:${file.size}:${file.type || ''}:${d?.lastModified ?? ''}`
}

// A storage refusal or a blocked request: the product's rule is to carry the
// rest of the file through the service. 403 covers a bucket policy or a
// network appliance refusing; status 0 a CORS failure or a blocked host.
export function shouldFallBack(err) {
  return err instanceof TransferError && (err.status === 0 || err.status === 403)
}

export function retryable(err) {
  if (err instanceof TransferError) return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500
  if (err instanceof ApiError) return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500
  return false
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      reject(signal.reason)
    }, { once: true })
  })
}

// One PUT with upload progress. Resolves {status, etag, body}; rejects
// TransferError on a network error, or the signal's reason when aborted.
function put(url, body, { headers = {}, withCredentials = false, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    xhr.withCredentials = withCredentials
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded)
    xhr.onload = () => resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag'), body: xhr.responseText })
    xhr.onerror = () => reject(new TransferError(0, `PUT ${new URL(url, location.href).host}: network error or blocked`))
    xhr.onabort = () => reject(signal?.reason ?? new CancelledError())
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

// A file of `size` bytes in parts of `partSize`: how many (an empty file is
// one empty part) and how long part `n` (1-based) is.
export function partCount(size, partSize) { return Math.max(1, Math.ceil(size / partSize)) }
export function partLength(size, n, partSize) { return Math.max(0, Math.min(partSize, size - (n - 1) * partSize)) }

// Adds an answer's presignedUrls to `urls` (part number -> URL): as hoist's
// extension gives them ([{partNumber, url}]) or as the product's contract
// does (URL strings in the order of `numbers`, or of parts 1.. for start).
export function addUrls(urls, list, numbers) {
  (list ?? []).forEach((item, i) => {
    if (typeof item === 'string') urls.set(numbers ? numbers[i] : i + 1, item)
    else urls.set(item.partNumber, item.url)
  })
}

export default class HoistUploader extends BasePlugin {
  static VERSION = '1'

  constructor(uppy, opts) {
    super(uppy, { ...defaults, ...opts })
    this.id = this.opts.id || 'HoistUploader'
    this.type = 'uploader'
    this.uploads = new Map()   // file id -> FileUpload in progress
  }

  install() {
    // Shows Uppy's pause/resume buttons.
    const { capabilities } = this.uppy.getState()
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true } })
    this.uppy.addUploader(this.handleUpload)
    this.uppy.on('file-removed', this.onFileRemoved)
    this.uppy.on('cancel-all', this.onCancelAll)
    this.uppy.on('upload-pause', this.onPause)
    this.uppy.on('pause-all', this.onPauseAll)
    this.uppy.on('resume-all', this.onResumeAll)
  }

  uninstall() {
    this.uppy.removeUploader(this.handleUpload)
    this.uppy.off('file-removed', this.onFileRemoved)
    this.uppy.off('cancel-all', this.onCancelAll)
    this.uppy.off('upload-pause', this.onPause)
    this.uppy.off('pause-all', this.onPauseAll)
    this.uppy.off('resume-all', this.onResumeAll)
  }

  onFileRemoved = (file) => this.uploads.get(file.id)?.cancel()
  onCancelAll = () => { for (const u of this.uploads.values()) u.cancel() }
  onPause = (file, isPaused) => { const u = this.uploads.get(file?.id); if (u) isPaused ? u.pause() : u.resume() }
  onPauseAll = () => { for (const u of this.uploads.values()) u.pause() }
  onResumeAll = () => { for (const u of this.uploads.values()) u.resume() }

  handleUpload = async (fileIDs) => {
    const files = this.uppy.getFilesByIds(fileIDs).filter((f) => !f.progress.uploadComplete)
    this.uppy.emit('upload-start', files)
    // Files run side by side; each bounds its own parts.
    await Promise.allSettled(files.map((f) => this.uploadFile(f)))
  }

  async uploadFile(file) {
    const upload = new FileUpload(this, file)
    this.uploads.set(file.id, upload)
    try {
      const result = await upload.run()
      if (!this.uppy.getFile(file.id)) return
      this.uppy.emit('upload-success', this.uppy.getFile(file.id), {
        status: 200,
        body: result,
        uploadURL: result.location,
      })
      this.uppy.emit('hoist:method', this.uppy.getFile(file.id), result.method, result)
    } catch (err) {
      if (err instanceof CancelledError) return
      this.uppy.log(`[hoist] ${file.name}: ${err.message}`, 'error')
      if (this.uppy.getFile(file.id)) this.uppy.emit('upload-error', this.uppy.getFile(file.id), err)
    } finally {
      this.uploads.delete(file.id)
    }
  }

  // POST apiPath {action, ...}: the parsed answer, or ApiError (status 0 when
  // the service could not be reached), retried when retryable.
  async api(action, body, signal) {
    return this.withRetries(async () => {
      let res
      try {
        res = await fetch(this.opts.apiPath, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ action, ...body }),
          signal,
        })
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        throw new ApiError(0, 'network', `${action}: the service could not be reached`)
      }
      const json = await res.json().catch(() => ({}))
      if (!res.ok) {
        const e = json.error ?? {}
        throw new ApiError(res.status, e.code ?? 'http_' + res.status, `${action}: ${e.message ?? 'HTTP ' + res.status}`)
      }
      return json
    }, signal)
  }

  async withRetries(fn, signal) {
    for (let attempt = 0; ; ++attempt) {
      try {
        return await fn(attempt)
      } catch (err) {
        if (!retryable(err) || attempt + 1 >= this.opts.attempts || signal?.aborted) throw err
        await sleep(backoffMs(attempt, this.opts), signal)
      }
    }
  }
}

// One file's upload, from start (or resume) to complete.
class FileUpload {
  constructor(plugin, file) {
    this.plugin = plugin
    this.uppy = plugin.uppy
    this.opts = plugin.opts
    this.file = file
    this.key = fingerprint(file)
    this.cancelled = false
    this.failed = false          // a part failed for good: the other parts stop
    this.paused = false
    this.resumed = null          // resolves when a pause ends
    this.controller = new AbortController()   // transfers: aborted on pause or cancel
    // Calls to the service: aborted on cancel only. A pause waits for them
    // (they are short), it does not turn them into errors.
    this.cancelController = new AbortController()
    this.viaProxy = false
    this.sent = new Map()        // part number -> bytes sent (for progress)
    this.started = Date.now()
  }

  // ---- control (Uppy's buttons) ------------------------------------------

  pause() {
    if (this.paused || this.cancelled) return
    this.paused = true
    this.resumed = new Promise((r) => { this.resume = () => { this.paused = false; this.resume = () => {}; r() } })
    this.controller.abort(new PausedError())
  }

  resume() {}   // replaced by pause()

  cancel() {
    if (this.cancelled) return
    this.cancelled = true
    this.forget()
    this.controller.abort(new CancelledError())
    this.cancelController.abort(new CancelledError())
    this.resume()
  }

  // For a call to the service: waits out a pause, gives the cancel signal.
  async apiGate() {
    await this.gate()
    return this.cancelController.signal
  }

  // Waits out a pause; throws CancelledError once cancelled. Gives the
  // signal for the next transfer.
  async gate() {
    while (this.paused && !this.cancelled) await this.resumed
    if (this.cancelled || this.failed) throw new CancelledError()
    if (this.controller.signal.aborted) this.controller = new AbortController()
    return this.controller.signal
  }

  progress() {
    let bytes = 0
    for (const n of this.sent.values()) bytes += n
    this.uppy.emit('upload-progress', this.uppy.getFile(this.file.id) ?? this.file, {
      uploadStarted: this.started,
      bytesUploaded: Math.min(bytes, this.file.size),
      bytesTotal: this.file.size,
    })
  }

  // ---- the upload ----------------------------------------------------------

  async run() {
    const saved = this.load()
    if (saved) {
      const resumed = await this.tryResume(saved)
      if (resumed) return this.multipart(resumed)
    }
    if (this.file.size <= this.opts.singlePutMax) {
      const result = await this.single()
      if (result) return result
    }
    const signal = await this.apiGate()
    const start = await this.plugin.api('start', {
      fileName: this.file.name,
      fileSize: this.file.size,
      contentType: this.file.type || 'application/octet-stream',
    }, signal)
    const state = {
      uploadId: start.uploadId,
      s3Key: start.s3Key,
      uploadToken: start.uploadToken,
      partSize: start.partSize,
      uniqueFileName: start.uniqueFileName,
    }
    this.save(state)
    const urls = new Map()
    this.addUrls(urls, start.presignedUrls, null)
    return this.multipart({ ...state, urls, done: new Map() })
  }

  // A single presigned PUT; null when the service wants a multipart upload
  // instead (its single_put_max is lower) or the PUT was refused or blocked
  // (the proxy carries parts of multipart uploads only).
  async single() {
    let signal = await this.apiGate()
    let answer
    try {
      answer = await this.plugin.api('single', {
        fileName: this.file.name,
        fileSize: this.file.size,
        contentType: this.file.type || 'application/octet-stream',
      }, signal)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'file_too_large') return null
      throw err
    }
    for (let attempt = 0; ; ++attempt) {
      signal = await this.gate()
      try {
        const res = await put(answer.url, this.file.data, {
          signal,
          onProgress: (n) => { this.sent.set(1, n); this.progress() },
        })
        if (res.status >= 200 && res.status < 300) {
          this.sent.set(1, this.file.size)
          this.progress()
          return { method: METHOD.single, key: answer.s3Key, location: answer.url.split('?')[0], uniqueFileName: answer.uniqueFileName }
        }
        throw new TransferError(res.status, `PUT: HTTP ${res.status}`)
      } catch (err) {
        if (err instanceof PausedError) { attempt = -1; continue }
        if (shouldFallBack(err)) {
          // Storage refused or blocked: the file goes as a multipart upload
          // whose parts all take the proxy (it carries parts only).
          this.uppy.log(`[hoist] ${this.file.name}: ${err.message}; the file goes through the service`, 'warning')
          this.viaProxy = true
          return null
        }
        if (!retryable(err) || attempt + 1 >= this.opts.attempts) throw err
        await sleep(backoffMs(attempt, this.opts), this.cancelController.signal)
      }
    }
  }

  // Resumes a saved upload: the parts the storage has (list-parts), or null
  // when the upload is gone (completed, aborted, expired) and must restart.
  async tryResume(saved) {
    try {
      const signal = await this.apiGate()
      const listed = await this.plugin.api('list-parts', this.ref(saved), signal)
      const done = new Map()
      const count = this.partCount(saved.partSize)
      for (const p of listed.parts ?? []) {
        // Only a part of the size it must have counts as done.
        if (p.PartNumber >= 1 && p.PartNumber <= count && p.Size === this.partLength(p.PartNumber, saved.partSize))
          done.set(p.PartNumber, p.ETag)
      }
      this.uppy.log(`[hoist] ${this.file.name}: resuming ${saved.uploadId}, ${done.size} of ${count} parts already stored`)
      return { ...saved, urls: new Map(), done, resumedParts: done.size }
    } catch (err) {
      if (err instanceof CancelledError) throw err
      this.uppy.log(`[hoist] ${this.file.name}: cannot resume (${err.message}); starting again`, 'warning')
      this.forget()
      return null
    }
  }

  partCount(partSize) { return partCount(this.file.size, partSize) }
  partLength(n, partSize) { return partLength(this.file.size, n, partSize) }
  ref(s) { return { uploadId: s.uploadId, s3Key: s.s3Key, uploadToken: s.uploadToken } }
  addUrls(urls, list, numbers) { addUrls(urls, list, numbers) }

  async urlFor(state, n) {
    if (!state.urls.has(n)) {
      const count = this.partCount(state.partSize)
      const numbers = []
      for (let m = n; m <= count && numbers.length < this.opts.presignBatch; ++m)
        if (!state.done.has(m) && !state.urls.has(m)) numbers.push(m)
      const answer = await this.plugin.api('presign', { ...this.ref(state), partNumbers: numbers }, await this.apiGate())
      this.addUrls(state.urls, answer.presignedUrls, numbers)
    }
    return state.urls.get(n)
  }

  async multipart(state) {
    const count = this.partCount(state.partSize)
    for (const n of state.done.keys()) this.sent.set(n, this.partLength(n, state.partSize))
    this.progress()
    const queue = []
    for (let n = 1; n <= count; ++n) if (!state.done.has(n)) queue.push(n)
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        state.done.set(n, await this.sendPart(state, n))
        this.uppy.emit('hoist:part-done', this.file, n)
      }
    }
    try {
      const workers = Array.from({ length: Math.min(this.opts.partConcurrency, queue.length) }, async () => {
        try {
          await worker()
        } catch (err) {
          // The first failure stops the other parts; the upload stays in
          // storage (and in localStorage) for Uppy's retry button to resume.
          if (!(err instanceof CancelledError) && !this.failed) {
            this.failed = true
            this.controller.abort(new CancelledError())
          }
          throw err
        }
      })
      const settled = await Promise.allSettled(workers)
      const failure = settled.find((r) => r.status === 'rejected' && !(r.reason instanceof CancelledError))
      if (this.cancelled) throw new CancelledError()
      if (failure) throw failure.reason
      const other = settled.find((r) => r.status === 'rejected')
      if (other) throw other.reason
    } catch (err) {
      if (this.cancelled) await this.abort(state)
      throw err
    }
    const parts = [...state.done.entries()].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }))
    await this.gate()
    // No signal: a cancel must not cut a Complete in flight (its outcome
    // would be unknown); the upload is then simply finished.
    const answer = await this.plugin.api('complete', { ...this.ref(state), parts })
    this.forget()
    return {
      method: this.viaProxy ? METHOD.proxy : METHOD.direct,
      key: state.s3Key,
      location: answer.location,
      uniqueFileName: answer.uniqueFileName,
      resumedParts: state.resumedParts ?? 0,
    }
  }

  // One part, retried; directly to the storage until a direct PUT is refused
  // or blocked, then (for this and every later part) through the proxy.
  async sendPart(state, n) {
    const start = (n - 1) * state.partSize
    const blob = this.file.data.slice(start, start + this.partLength(n, state.partSize))
    for (let attempt = 0; ; ++attempt) {
      const signal = await this.gate()
      const viaProxy = this.viaProxy
      try {
        this.sent.set(n, 0)
        const onProgress = (b) => { this.sent.set(n, b); this.progress() }
        let res
        if (viaProxy) {
          const target = `${this.opts.proxyPrefix}${encodeURIComponent(state.uploadId)}/parts/${n}?key=${encodeURIComponent(state.s3Key)}`
          res = await put(target, blob, { signal, onProgress, withCredentials: true, headers: { 'X-Upload-Token': state.uploadToken } })
        } else {
          res = await put(await this.urlFor(state, n), blob, { signal, onProgress })
        }
        if (res.status < 200 || res.status >= 300) throw new TransferError(res.status, `part ${n}: HTTP ${res.status}`)
        // Without ETag the part cannot be completed: the bucket's CORS rules
        // do not expose it. The proxy can still carry it.
        if (!res.etag) throw new TransferError(0, `part ${n}: the storage's answer has no readable ETag (bucket CORS must expose ETag)`)
        this.sent.set(n, blob.size)
        this.progress()
        return res.etag
      } catch (err) {
        this.sent.set(n, 0)
        if (err instanceof PausedError) { attempt = -1; continue }
        if (err instanceof CancelledError) throw err
        if (!viaProxy && shouldFallBack(err)) {
          if (!this.viaProxy) this.uppy.log(`[hoist] ${this.file.name}: ${err.message}; the rest goes through the service`, 'warning')
          this.viaProxy = true
          attempt = -1
          continue
        }
        if (!retryable(err) || attempt + 1 >= this.opts.attempts) throw err
        this.uppy.log(`[hoist] ${this.file.name}: ${err.message}; retrying`, 'warning')
        await sleep(backoffMs(attempt, this.opts), this.cancelController.signal)
      }
    }
  }

  async abort(state) {
    this.forget()
    try {
      await this.plugin.api('abort', this.ref(state))
    } catch (err) {
      this.uppy.log(`[hoist] ${this.file.name}: abort failed: ${err.message}`, 'warning')
    }
  }

  // ---- resume state (localStorage) ------------------------------------------

  load() {
    try {
      const s = JSON.parse(this.opts.storage?.getItem(this.key) ?? 'null')
      return s && s.uploadId && s.s3Key && s.uploadToken && s.partSize > 0 ? s : null
    } catch {
      return null
    }
  }

  save(state) {
    try {
      this.opts.storage?.setItem(this.key, JSON.stringify({ ...this.ref(state), partSize: state.partSize, savedAt: Date.now() }))
    } catch { /* full or disabled: the upload goes on, it just cannot resume */ }
  }

  forget() {
    try { this.opts.storage?.removeItem(this.key) } catch { /* as above */ }
  }
}
