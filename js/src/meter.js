// A tiny level meter for the mic UI: linear RMS → 0..1 on a dBFS scale, fast attack, slow release.

/**
 * Map a linear RMS (0..1) to a 0..1 meter position over [floorDb, 0] dBFS.
 * @param {number} rms
 * @param {number} [floorDb]
 */
export function levelFromRms(rms, floorDb = -60) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db - floorDb) / -floorDb));
}

export class EnergyMeter {
  /**
   * @param {{releasePerSecond?: number, floorDb?: number}} [opts] releasePerSecond: how much of
   *   the scale the level may fall per second (default 1.5)
   */
  constructor(opts = {}) {
    this.release = opts.releasePerSecond ?? 1.5;
    this.floorDb = opts.floorDb ?? -60;
    this.level = 0;
    this.lastMs = null;
  }

  /**
   * @param {number} rms linear RMS of the newest frame
   * @param {number} nowMs performance.now()
   * @returns {number} the meter position, 0..1
   */
  update(rms, nowMs) {
    const target = levelFromRms(rms, this.floorDb);
    const dt = this.lastMs === null ? 0 : Math.max(0, nowMs - this.lastMs) / 1000;
    this.lastMs = nowMs;
    this.level = target >= this.level ? target : Math.max(target, this.level - this.release * dt);
    return this.level;
  }
}
