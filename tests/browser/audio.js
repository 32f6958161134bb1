// Audio language switching, for hls-audio.html and shaka-audio.html: play past
// `advanceTo`, switch to a track of another language with the page's `player`
// adapter, wait for the player to report it, then play to the end. The result
// (play.mjs prints it) says which languages were offered and which one played,
// and lists the media URLs fetched after the switch. Plain script, after common.js.
'use strict';

window.vodbuildAudio = async (s, video, opts, player) => {
  const { playAndSwitch } = window.vodbuild;
  s.audioTracks = player.tracks();
  s.log(`audio tracks: ${JSON.stringify(s.audioTracks)}`);
  let mark = 0;
  await playAndSwitch(s, video, opts, () => {
    const from = player.active();
    const to = s.audioTracks.find((t) => t.language !== (from && from.language));
    if (!from || !to) return null;
    s.switchedFrom = from;
    mark = performance.getEntriesByType('resource').length;
    player.select(to);
    return {
      target: to,
      switched: () => {
        const now = player.active();
        return now && now.language === to.language;
      },
      size: null,
    };
  });
  const r = s.result();
  r.audioTracks = s.audioTracks;
  r.fetchedAfterSwitch = performance.getEntriesByType('resource').slice(mark).map((e) => e.name).slice(0, 200);
  return r;
};
