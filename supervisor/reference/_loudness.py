"""Loudness normalisation in the fewest passes: measure with ``ebur128``, then one gain.

Rationale. The reference ``prep`` used ffmpeg's ``loudnorm`` twice (analysis, then the
normalising pass), as ``ffmpeg-normalize`` does. ``loudnorm`` works internally at 192 kHz,
so each pass costs about three times an encode. ``ebur128=peak=true`` measures what the
decision needs (integrated loudness, loudness range, true peak, the EBU R128 / ITU-R
BS.1770 meter that ``loudnorm`` itself reports) at decoding speed. Then:

* **linear**, when the measured true peak leaves room: the whole file gets one gain,
  ``target − integrated``, applied in the encoding pass itself. No dynamics change, which
  is what EBU R128 practice prefers; the integrated loudness moves by exactly the gain.
* **limited**, when that gain would push the true peak over the limit (a speech recording
  with sharp plosives, say): the same gain, then a limiter that runs on a 4× oversampled
  signal (so it sees inter-sample peaks, which is what "true peak" means) with its ceiling
  a margin below the limit, then back to 48 kHz. The limiter only touches the peaks, so the
  integrated loudness stays within a fraction of a LU of the target.

A lossy encoder adds inter-sample peaks of its own, so for lossy formats the ceiling keeps
``CODEC_HEADROOM`` in hand. Which was used, the gain and the measurements before and after
are in the job's result. Only ``ebur128``'s own summary is read from ffmpeg's output: the
input's tags are printed there too, and a tag can hold anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import attrs

__all__ = [
    "CODEC_HEADROOM",
    "Loudness",
    "Plan",
    "measure_args",
    "parse_summary",
    "plan",
]

#: dB a lossy encoder may add to the true peak (MP3, AAC, Opus at usual rates).
CODEC_HEADROOM = 1.0
#: The oversampled limiter's ceiling sits this far below the limit.
_LIMITER_MARGIN = 0.3
_RATE = 48000


def measure_args() -> list[str]:
    """The filter and sink arguments that make ffmpeg print an EBU R128 summary (audio
    only: a video's frames are not even decoded)."""
    return ["-vn", "-sn", "-dn", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]


@attrs.frozen
class Loudness:
    """An EBU R128 measurement: integrated loudness (LUFS), loudness range (LU), true
    peak (dBTP) and the integration's gating threshold (LUFS)."""

    integrated: float
    lra: float
    true_peak: float
    threshold: float

    def to_dict(self) -> dict[str, float]:
        return {
            "integrated_lufs": self.integrated,
            "lra": self.lra,
            "true_peak_dbtp": self.true_peak,
            "threshold_lufs": self.threshold,
        }


_SUMMARY = re.compile(r"^\[Parsed_ebur128_\d+ @ 0x[0-9a-f]+\] Summary:$")
_FIELDS = {
    "I": re.compile(r"^I:\s+(-?[0-9.]+|-inf) LUFS$"),
    "LRA": re.compile(r"^LRA:\s+(-?[0-9.]+) LU$"),
    "Peak": re.compile(r"^Peak:\s+(-?[0-9.]+|-inf) dBFS$"),
    "Threshold": re.compile(r"^Threshold:\s+(-?[0-9.]+|-inf) LUFS$"),
}


def parse_summary(lines: Sequence[str]) -> Loudness | None:
    """The summary ``ebur128`` printed last, or None if there is none or it is not finite
    (silence measures ``-inf``). Lines before the filter's own ``Summary:`` line are never
    read: they may be the input's tags."""
    starts = [i for i, line in enumerate(lines) if _SUMMARY.match(line)]
    if not starts:
        return None
    found: dict[str, float] = {}
    for line in lines[starts[-1] + 1 :]:
        text = line.strip()
        for key, pattern in _FIELDS.items():
            match = pattern.match(text)
            if match is not None and key not in found:  # the first Threshold is I's
                found[key] = float(match.group(1))
    if len(found) != len(_FIELDS) or not all(math.isfinite(v) for v in found.values()):
        return None
    return Loudness(found["I"], found["LRA"], found["Peak"], found["Threshold"])


@attrs.frozen
class Plan:
    """How to bring a measured input to the target: ``method`` is ``linear`` or
    ``limited``; ``gain_db`` the gain; ``ceiling_dbtp`` the limiter's ceiling (limited)."""

    method: str
    gain_db: float
    ceiling_dbtp: float | None = None

    def filters(self) -> str:
        """The ``-af`` chain that applies the plan (a linear gain keeps the input's sample
        rate; the limiter's path ends at 48 kHz)."""
        gain = f"volume={self.gain_db:.2f}dB"
        if self.ceiling_dbtp is None:
            return gain
        ceiling = 10 ** (self.ceiling_dbtp / 20)
        return (
            f"{gain},aresample={_RATE * 4},"
            f"alimiter=limit={ceiling:.6f}:attack=1:release=50:level=false,"
            f"aresample={_RATE}"
        )

    def to_dict(self) -> dict[str, float | str | None]:
        return {
            "method": self.method,
            "gain_db": round(self.gain_db, 2),
            "ceiling_dbtp": self.ceiling_dbtp,
        }


def plan(measured: Loudness, *, target: float, true_peak_limit: float, lossy: bool) -> Plan:
    """A linear gain when the true peak allows it, else the gain and an oversampled limiter."""
    gain = target - measured.integrated
    room = true_peak_limit - (CODEC_HEADROOM if lossy else 0.0)
    if measured.true_peak + gain <= room:
        return Plan("linear", gain)
    return Plan("limited", gain, round(room - _LIMITER_MARGIN, 2))
