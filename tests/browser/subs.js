// Shared by hls-subs.html and shaka-subs.html: after the page's player has selected the
// subtitle track of `?lang=`, play to the end and list every cue the video element's text
// tracks hold, with the timeline origin (the first buffered time). Loaded after common.js.
'use strict';

window.vodbuildSubs = (() => {
  const { waitFor } = window.vodbuild;

  /** Cues of every text track (bounded), with each track's label, language and mode. */
  function collect(video) {
    const tracks = [];
    for (let i = 0; i < video.textTracks.length && i < 32; i++) {
      const t = video.textTracks[i];
      const cues = [];
      for (let j = 0; t.cues && j < t.cues.length && j < 1000; j++) {
        const c = t.cues[j];
        cues.push({ start: c.startTime, end: c.endTime, text: c.text });
      }
      tracks.push({ label: t.label, language: t.language, kind: t.kind, mode: t.mode, cues });
    }
    return tracks;
  }

  /** Plays muted to the end; fills s.ended, s.advancedAt, s.textTracks, s.origin. */
  async function playThrough(s, video, opts) {
    video.muted = true;
    try {
      await video.play();
    } catch (e) {
      s.error('video.play()', { message: String(e) });
    }
    const ended = await waitFor(
      () => video.ended || (video.duration > 0 && video.currentTime >= video.duration - 0.1),
      opts.stageMs * 2,
    );
    s.ended = ended;
    s.advancedAt = video.currentTime;
    if (!ended) s.fail(`playback did not reach the end (${video.duration}s) within ${opts.stageMs * 2} ms`);
    s.origin = video.buffered.length ? video.buffered.start(0) : null;
    s.textTracks = collect(video);
  }

  function lang() {
    return new URLSearchParams(location.search).get('lang');
  }

  return { collect, playThrough, lang };
})();
