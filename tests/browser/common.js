// Shared by hls.html and shaka.html: polling waits, frame counts and the
// result object that play.mjs prints. Plain script (no modules), loaded first.
'use strict';

window.vodbuild = (() => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /** Polls `pred` every 100 ms; true when it held before `ms` ran out. */
  async function waitFor(pred, ms) {
    const end = performance.now() + ms;
    for (;;) {
      try {
        if (pred()) return true;
      } catch (_) {
        // a predicate that throws counts as "not yet"
      }
      if (performance.now() > end) return false;
      await sleep(100);
    }
  }

  function quality(video) {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    return {
      frames: q ? q.totalVideoFrames : 0,
      dropped: q ? q.droppedVideoFrames : 0,
      corrupted: q && 'corruptedVideoFrames' in q ? q.corruptedVideoFrames : 0,
    };
  }

  /** A JSON-safe, bounded copy of anything an error event carries. */
  function plain(value, depth = 0) {
    if (value === null || value === undefined) return value ?? null;
    if (typeof value === 'string') return value.length > 300 ? value.slice(0, 300) + '...' : value;
    if (typeof value !== 'object') return typeof value === 'function' ? undefined : value;
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
    if (typeof Node !== 'undefined' && value instanceof Node) return `<${value.nodeName}>`;
    if (depth >= 3) return '<...>';
    if (Array.isArray(value)) return value.slice(0, 10).map((v) => plain(v, depth + 1));
    const out = {};
    for (const k of Object.keys(value).slice(0, 20)) {
      const v = plain(value[k], depth + 1);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /**
   * State of one playback check. `fail(stage)` records a stage that did not
   * happen in time; `result()` is what play.mjs prints.
   */
  function session(player, url, video) {
    const s = {
      player,
      url,
      errors: [],
      failures: [],
      events: [],
      advancedAt: null,
      switchedFrom: null,
      switchedTo: null,
      sizeAfterSwitch: null,
      ended: false,
    };
    window.vodbuildSession = s; // play.mjs reads a partial result from here on a timeout
    const t0 = performance.now();
    s.log = (what) => s.events.push(`${((performance.now() - t0) / 1000).toFixed(2)}s ${what}`);
    s.error = (source, detail) => {
      s.errors.push({ source, at: video.currentTime, ...plain(detail) });
      s.log(`error from ${source}`);
    };
    s.fail = (stage) => {
      s.failures.push(stage);
      s.log(`FAILED: ${stage}`);
    };
    video.addEventListener('error', () => {
      const e = video.error;
      s.error('video element', { code: e ? e.code : null, message: e ? e.message : '' });
    });
    for (const ev of ['playing', 'waiting', 'stalled', 'ended', 'resize']) {
      video.addEventListener(ev, () => s.log(`video ${ev} t=${video.currentTime.toFixed(2)} ${video.videoWidth}x${video.videoHeight}`));
    }
    s.result = () => {
      const q = quality(video);
      return {
        player: s.player,
        url: s.url,
        currentTime: video.currentTime,
        duration: video.duration,
        ended: s.ended,
        advancedAt: s.advancedAt,
        frames: q.frames,
        droppedFrames: q.dropped,
        corruptedFrames: q.corrupted,
        videoSize: `${video.videoWidth}x${video.videoHeight}`,
        switchedFrom: s.switchedFrom,
        switchedTo: s.switchedTo,
        sizeAfterSwitch: s.sizeAfterSwitch,
        errors: s.errors,
        failures: s.failures,
        events: s.events,
      };
    };
    return s;
  }

  /**
   * The common script after the player has loaded `url` into `video`:
   * play muted, wait for time past `advanceTo` s with decoded frames, force
   * a switch with `doSwitch()` (returns {target, switched(), size}), wait for
   * the switched rendition's frames and for the end.
   */
  async function playAndSwitch(s, video, opts, doSwitch) {
    video.muted = true;
    try {
      await video.play();
    } catch (e) {
      s.error('video.play()', { message: String(e) });
    }
    const advanced = await waitFor(
      () => video.currentTime > opts.advanceTo && quality(video).frames > 0,
      opts.stageMs,
    );
    if (!advanced) {
      s.fail(`playback did not pass ${opts.advanceTo}s with decoded frames within ${opts.stageMs} ms`);
      return;
    }
    s.advancedAt = video.currentTime;
    s.log(`advanced to ${video.currentTime.toFixed(2)} frames=${quality(video).frames}`);

    const sw = doSwitch();
    if (!sw) {
      s.fail('no other video rendition to switch to');
      return;
    }
    s.log(`forcing switch to ${JSON.stringify(sw.target)}`);
    if (!(await waitFor(sw.switched, opts.stageMs))) {
      s.fail(`player did not report the switch to ${JSON.stringify(sw.target)} within ${opts.stageMs} ms`);
      return;
    }
    s.switchedTo = sw.target;
    s.log('switch reported');
    if (sw.size) {
      const [w, h] = sw.size;
      if (!(await waitFor(() => video.videoWidth === w && video.videoHeight === h, opts.stageMs))) {
        s.fail(`video element never showed a ${w}x${h} frame after the switch (shows ${video.videoWidth}x${video.videoHeight})`);
        return;
      }
      s.sizeAfterSwitch = `${video.videoWidth}x${video.videoHeight}`;
    }
    s.ended = await waitFor(
      () => video.ended || (video.duration > 0 && video.currentTime >= video.duration - 0.1),
      opts.stageMs,
    );
    if (!s.ended) s.fail(`playback did not reach the end (${video.duration}s) within ${opts.stageMs} ms`);
  }

  return { sleep, waitFor, quality, plain, session, playAndSwitch };
})();
