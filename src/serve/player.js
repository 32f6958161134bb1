// vodbuild serve: the player page's script. Plays one package with hls.js or shaka-player
// (loaded before this file), fills the rendition / audio / subtitle menus from the player,
// and draws the thumbnails as a storyboard (click one to seek). Its state is in
// window.vodbuildPreview (used by the tests).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse($('config').textContent);
  const video = $('video');
  const state = { player: cfg.player, errors: [], warnings: [], renditions: [] };
  window.vodbuildPreview = state;
  const say = (text) => { $('status').textContent = text; };
  const option = (select, value, label) => {
    const o = document.createElement('option');
    o.value = String(value);
    o.textContent = label;
    select.appendChild(o);
  };
  const kbps = (b) => `${Math.ceil(b / 1000)} kb/s`;
  const showNow = () => {
    $('now').textContent = video.videoHeight ? `playing ${video.videoWidth}x${video.videoHeight}` : '';
  };
  video.addEventListener('resize', showNow);
  video.addEventListener('error', () => state.errors.push(`video element: ${video.error && video.error.message}`));

  function storyboard() {
    const board = $('storyboard');
    for (const [url, time] of cfg.thumbnails || []) {
      const img = document.createElement('img');
      img.src = url;
      img.title = `${time.toFixed(1)} s`;
      img.dataset.time = String(time);
      img.addEventListener('click', () => { video.currentTime = time; });
      board.appendChild(img);
    }
    video.addEventListener('timeupdate', () => {
      let current = null;
      for (const img of board.children) if (Number(img.dataset.time) <= video.currentTime + 0.01) current = img;
      for (const img of board.children) img.classList.toggle('current', img === current);
    });
  }

  function hlsjs() {
    if (!window.Hls || !Hls.isSupported()) return say('hls.js: MediaSource is not supported here');
    const hls = new Hls({ enableWorker: true });
    state.instance = hls;
    hls.on(Hls.Events.ERROR, (_, d) => {
      // Non-fatal ones (a stall while a switch refills the buffer) are recovered by hls.js.
      (d.fatal ? state.errors : state.warnings).push(`hls.js: ${d.type} ${d.details}`);
      if (d.fatal) say(`error: ${d.details}`);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const sel = $('rendition');
      option(sel, -1, 'auto');
      hls.levels.forEach((l, i) => option(sel, i, `${l.width}x${l.height} · ${kbps(l.bitrate)}`));
      state.renditions = hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate }));
      sel.addEventListener('change', () => { hls.currentLevel = Number(sel.value); });
      menus(hls.audioTracks, 'audio', (i) => { hls.audioTrack = i; }, false);
      menus(hls.subtitleTracks, 'subtitles', (i) => { hls.subtitleTrack = i; hls.subtitleDisplay = i >= 0; }, true);
      video.play().catch((e) => state.errors.push(`play(): ${e}`));
    });
    hls.loadSource(cfg.url);
    hls.attachMedia(video);
  }

  /** A menu of tracks (hidden when there is nothing to choose); `off` adds an "off" entry. */
  function menus(tracks, id, pick, off) {
    if (!tracks || tracks.length < (off ? 1 : 2)) return;
    const sel = $(id);
    if (off) option(sel, -1, 'off');
    tracks.forEach((t, i) => option(sel, i, t.name || t.lang || t.language || `track ${i + 1}`));
    sel.addEventListener('change', () => pick(Number(sel.value)));
    $(`${id}-label`).hidden = false;
  }

  async function shakaPlayer() {
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) return say('shaka-player: this browser is not supported');
    const player = new shaka.Player();
    state.instance = player;
    player.addEventListener('error', (e) => {
      const fatal = e.detail && e.detail.severity === 2; // shaka.util.Error.Severity.CRITICAL
      (fatal ? state.errors : state.warnings).push(`shaka-player: ${e.detail && e.detail.code}`);
    });
    await player.attach(video);
    try {
      await player.load(cfg.url);
    } catch (e) {
      state.errors.push(`shaka-player load: ${e && e.code}`);
      return say(`error: ${e && e.code}`);
    }
    const variants = player.getVariantTracks().filter((t) => t.height);
    const unique = [];
    for (const t of variants.sort((a, b) => b.height - a.height)) {
      if (!unique.some((u) => u.height === t.height && u.width === t.width)) unique.push(t);
    }
    const sel = $('rendition');
    option(sel, -1, 'auto');
    unique.forEach((t, i) => option(sel, i, `${t.width}x${t.height} · ${kbps(t.videoBandwidth || t.bandwidth)}`));
    state.renditions = unique.map((t) => ({ width: t.width, height: t.height, bitrate: t.bandwidth }));
    sel.addEventListener('change', () => {
      const i = Number(sel.value);
      player.configure({ abr: { enabled: i < 0 } });
      if (i >= 0) player.selectVariantTrack(unique[i], true);
    });
    // shaka-player 5: getAudioTracks / selectAudioTrack, setTextVisibility.
    const audio = typeof player.getAudioTracks === 'function' ? player.getAudioTracks() : [];
    menus(audio.map((t) => ({ name: [t.language, t.label, t.channelsCount && `${t.channelsCount} ch`].filter(Boolean).join(' ') })),
      'audio', (i) => player.selectAudioTrack(audio[i]), false);
    const texts = player.getTextTracks();
    const showText = (on) => { if (typeof player.setTextVisibility === 'function') player.setTextVisibility(on); };
    menus(texts.map((t) => ({ name: [t.language, t.label].filter(Boolean).join(' ') || t.kind })), 'subtitles', (i) => {
      if (i >= 0) player.selectTextTrack(texts[i]);
      showText(i >= 0);
    }, true);
    video.play().catch((e) => state.errors.push(`play(): ${e}`));
  }

  storyboard();
  if (cfg.player === 'hlsjs') hlsjs();
  else shakaPlayer();
})();
