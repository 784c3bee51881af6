"""Loudness normalisation in the fewest passes: measure with ``ebur128``, then one gain.

Rationale. The reference ``prep`` used ffmpeg's ``loudnorm`` twice (analysis, then the
normalising pass), as ``ffmpeg-normalize`` does. ``loudnorm`` works internally at 192 kHz,
so each pass costs about three times an encode. ``ebur128`` (the EBU R128 / ITU-R BS.1770
meter that ``loudnorm`` itself reports) measures at decoding speed. The passes:

1. **analysis**: integrated loudness, loudness range and the *sample* peak. No true peak
   here: its 4× oversampling is three quarters of the meter's cost, and the true peak that
   matters is the output's (below).
2. **linear**, when the sample peak leaves room (a true peak is never below the sample
   peak, so otherwise linear is impossible): the whole file gets one gain,
   ``target − integrated``, applied in the encoding pass. No dynamics change, which is what
   EBU R128 practice prefers. The encoded frames are decoded again in the same ffmpeg
   (a loopback decoder, ``-dec``) and metered with the true peak as they are written; the
   first frame whose true peak goes over the limit abandons the pass for the limited path.
   So "linear" means: the output file's own true peak is within the limit.
3. **limited** otherwise (a speech recording with sharp plosives, say): the gain, then a
   lookahead limiter with its ceiling ``CODEC_HEADROOM`` + a margin below the limit, at
   the signal's own rate; the output's true peak is watched as in the linear pass. A
   limiter at the signal's rate does not see the peaks between samples, so if the output
   still goes over, the pass is abandoned for the same limiter on a 4× oversampled signal
   (it sees inter-sample peaks, which is what "true peak" means; about seven times the
   cost), then back to 48 kHz. Limiting the peaks costs some loudness (a few tenths of a
   LU), so each limited chain is first run once to a meter (no encoder) and the shortfall
   is added to the gain: the output lands on the target, not below it.

Costs: the analysis at decoding speed, then one encode whose meter runs beside the encoder
on the second core. An abandoned encode is the price of not oversampling the analysis: it
stops at the first frame over, so a recording with an early peak loses little, one whose
only peak is at its end loses almost a whole encode. The loopback decoder needs ffmpeg 7.0
or later.

The output's figures (integrated, range, true peak) are those of the encoded frames,
measured in the encoding pass. Which path was used, the gains and the figures before and
after are in the job's result. Only ``ebur128``'s own lines are read from ffmpeg's output:
the input's tags are printed there too, and a tag can hold anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import attrs

__all__ = [
    "CODEC_HEADROOM",
    "Loudness",
    "PeakWatch",
    "Plan",
    "encode_args",
    "measure_args",
    "parse_summary",
    "plan",
]

#: dB a lossy encoder may add to the true peak (MP3, AAC, Opus at usual rates).
CODEC_HEADROOM = 1.0
#: The oversampled limiter's ceiling sits this far below the limit.
_LIMITER_MARGIN = 0.3
_RATE = 48000
_NO_OTHER_STREAMS = ["-vn", "-sn", "-dn"]


def measure_args(chain: str | None = None) -> list[str]:
    """The filter and sink arguments that make ffmpeg print an EBU R128 summary with the
    sample peak, of the input or of ``chain`` applied to it (audio only: a video's frames
    are not even decoded)."""
    meter = "ebur128=peak=sample:framelog=quiet"
    graph = meter if chain is None else f"{chain},{meter}"
    return [*_NO_OTHER_STREAMS, "-af", graph, "-f", "null", "-"]


def encode_args(chain: str, output: Sequence[str]) -> list[str]:
    """Apply ``chain`` to the first audio stream and encode it with ``output`` (codec
    options, then the file); the encoded stream is decoded back in the same process and
    metered with the true peak, a line every 100 ms (see ``PeakWatch``), a summary at the
    end."""
    return [
        *("-filter_complex", f"[0:a:0]{chain}[out]", "-map", "[out]", *output),
        *("-dec", "0:0", "-filter_complex", "[dec:0]ebur128=peak=true:framelog=info[m]"),
        *("-map", "[m]", "-f", "null", "-"),
    ]


@attrs.frozen
class Loudness:
    """An EBU R128 measurement: integrated loudness (LUFS), loudness range (LU), the
    integration's gating threshold (LUFS), and the sample peak (dBFS) and/or the true peak
    (dBTP), whichever was measured."""

    integrated: float
    lra: float
    threshold: float
    sample_peak: float | None = None
    true_peak: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "integrated_lufs": self.integrated,
            "lra": self.lra,
            "threshold_lufs": self.threshold,
            "sample_peak_dbfs": self.sample_peak,
            "true_peak_dbtp": self.true_peak,
        }


_PREFIX = r"^\[Parsed_ebur128_\d+ @ 0x[0-9a-f]+\] "
_SUMMARY = re.compile(_PREFIX + "Summary:$")
_NUMBER = r"(-?[0-9.]+|-inf)"
_FIELDS = {
    "I": re.compile(rf"^I:\s+{_NUMBER} LUFS$"),
    "LRA": re.compile(rf"^LRA:\s+{_NUMBER} LU$"),
    "Threshold": re.compile(rf"^Threshold:\s+{_NUMBER} LUFS$"),
}
_PEAK = re.compile(rf"^Peak:\s+{_NUMBER} dBFS$")
_PEAK_SECTIONS = {"Sample peak:": "sample", "True peak:": "true"}


def parse_summary(lines: Sequence[str]) -> Loudness | None:
    """The summary ``ebur128`` printed last, or None if there is none or it is not finite
    (silence measures ``-inf``). Lines before the filter's own ``Summary:`` line are never
    read: they may be the input's tags."""
    starts = [i for i, line in enumerate(lines) if _SUMMARY.match(line)]
    if not starts:
        return None
    found: dict[str, float] = {}
    section = ""
    for line in lines[starts[-1] + 1 :]:
        text = line.strip()
        section = _PEAK_SECTIONS.get(text, section)
        for key, pattern in [*_FIELDS.items(), (section, _PEAK)]:
            match = pattern.match(text)
            if match is not None and key and key not in found:  # the first Threshold is I's
                found[key] = float(match.group(1))
    peaks = [found.get("sample"), found.get("true")]
    if any(k not in found for k in _FIELDS) or peaks == [None, None]:
        return None
    if not all(math.isfinite(v) for v in found.values()):
        return None
    return Loudness(found["I"], found["LRA"], found["Threshold"], *peaks)


_FRAME_PEAK = re.compile(_PREFIX + r"t: .*\sTPK:((?:\s+(?:-?[0-9.]+|-inf))+) dBFS$")


@attrs.define
class PeakWatch:
    """Reads ``ebur128``'s frame lines as ffmpeg prints them: ``over`` turns true (and
    ``__call__`` answers True: stop ffmpeg) once the true peak so far is above ``limit``."""

    limit: float
    over: bool = False

    def __call__(self, line: str) -> bool:
        match = _FRAME_PEAK.match(line)
        if match is not None and not self.over:
            peaks = [float(v) for v in match.group(1).split()]
            self.over = max(peaks) > self.limit
        return self.over


@attrs.frozen
class Plan:
    """How to bring a measured input to the target: ``method`` is ``linear`` or
    ``limited``; ``gain_db`` the gain; for ``limited``, ``ceiling_dbtp`` the limiter's
    ceiling and ``makeup_db`` what is added to the gain for the loudness the limiter takes.
    ``oversampled`` whether the limiter runs at 4× the rate; ``reason`` says why
    ``limited`` was chosen."""

    method: str
    gain_db: float
    ceiling_dbtp: float | None = None
    makeup_db: float = 0.0
    oversampled: bool = False
    reason: str | None = None

    def filters(self) -> str:
        """The filter chain that applies the plan (the input's sample rate is kept, except
        by the oversampled limiter, whose path ends at 48 kHz)."""
        gain = f"volume={self.gain_db + self.makeup_db:.2f}dB"
        if self.ceiling_dbtp is None:
            return gain
        ceiling = 10 ** (self.ceiling_dbtp / 20)
        limiter = f"alimiter=limit={ceiling:.6f}:attack=1:release=50:level=false:latency=1"
        if not self.oversampled:
            return f"{gain},{limiter}"
        return f"{gain},aresample={_RATE * 4},{limiter},aresample={_RATE}"

    def fallback(self, reason: str, *, true_peak_limit: float, lossy: bool) -> Plan | None:
        """The next, safer plan for the same gain when this one's output went over the
        limit (``reason``): linear → limited → limited with oversampling → None."""
        if self.oversampled:
            return None
        room = true_peak_limit - (CODEC_HEADROOM if lossy else 0.0)
        ceiling = round(room - _LIMITER_MARGIN, 2)
        oversampled = self.method == "limited"
        return Plan("limited", self.gain_db, ceiling, oversampled=oversampled, reason=reason)

    def to_dict(self) -> dict[str, float | str | None]:
        return {
            "method": self.method,
            "gain_db": round(self.gain_db, 2),
            "ceiling_dbtp": self.ceiling_dbtp,
            "makeup_db": round(self.makeup_db, 2),
            "oversampled": self.oversampled,
            "reason": self.reason,
        }


def plan(measured: Loudness, *, target: float, true_peak_limit: float, lossy: bool) -> Plan:
    """A linear gain unless the sample peak already rules it out (then the gain and a
    limiter). A plan is confirmed by the output's true peak as it is encoded
    (``PeakWatch``), else replaced by its ``fallback``."""
    gain = target - measured.integrated
    linear = Plan("linear", gain)
    peak = measured.true_peak if measured.true_peak is not None else measured.sample_peak
    if peak is not None and peak + gain > true_peak_limit:
        kind = "true" if measured.true_peak is not None else "sample"
        why = f"the input's {kind} peak {peak:+.1f} dB with the gain is over the limit"
        limited = linear.fallback(why, true_peak_limit=true_peak_limit, lossy=lossy)
        assert limited is not None  # a linear plan always has one
        return limited
    return linear
