"""The compiled model as plain data: `compiled.npz` (numpy arrays) + `compiled.json`.

Serving reads these two files instead of unpickling `model.joblib`: loading them runs no code
from the files (`np.load(..., allow_pickle=False)` and `json`), and needs numpy but neither
scikit-learn, scipy nor joblib, whose imports took longer than the model itself.

    compiled.json  format, classes, calibration method, and per text column: feature column,
                   offset, token pattern, n-gram range, preprocessing rule, empty marker and
                   vocabulary (term -> index); the one-hot block: columns, categories, offset
    compiled.npz   coef_t (features x classes), intercept, idf_<k> per text column k, and
                   sigmoid_a/sigmoid_b, iso_x_<k>/iso_y_<k> or beta for the calibration

`save_export` writes both files; `read_export` reads them back. Neither hashes: the artifact
(`classifier.artifact`) records each file's sha256 in the manifest and checks it before
`read_export` parses anything, exactly as it does for the pickle. `round_trip` encodes and
decodes in memory, so the trainer can verify the very form serving will read.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from classifier.fastpath import (
    CategoricalParams,
    CompiledParams,
    FloatArray,
    NotCompilable,
    TextColumnParams,
)

EXPORT_FORMAT = 1
ARRAYS_FILE = "compiled.npz"
SPEC_FILE = "compiled.json"
EXPORT_FILES = (ARRAYS_FILE, SPEC_FILE)


class ExportError(ValueError):
    """The export's content is not a model this version can use; retrain."""


def _arrays(params: CompiledParams) -> dict[str, FloatArray]:
    arrays: dict[str, FloatArray] = {
        "coef_t": np.ascontiguousarray(params.coef_t, dtype=np.float64),
        "intercept": np.asarray(params.intercept, dtype=np.float64),
    }
    for k, col in enumerate(params.text):
        arrays[f"idf_{k}"] = np.asarray(col.idf, dtype=np.float64)
    if params.sigmoid_a is not None and params.sigmoid_b is not None:
        arrays["sigmoid_a"] = params.sigmoid_a
        arrays["sigmoid_b"] = params.sigmoid_b
    for k, (x, y) in enumerate(params.isotonic or []):
        arrays[f"iso_x_{k}"] = x
        arrays[f"iso_y_{k}"] = y
    if params.beta is not None:
        arrays["beta"] = np.array([params.beta], dtype=np.float64)
    return arrays


def _spec(params: CompiledParams) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "classes": list(params.classes),
        "method": params.method,
        "text_columns": [
            {
                "column": col.column,
                "offset": col.offset,
                "token_pattern": col.token_pattern,
                "ngram_range": [1, col.ngram_max],
                "preprocess": col.preprocess,
                "empty_token": col.empty_token,
                "vocabulary": col.vocabulary,
            }
            for col in params.text
        ],
        "categorical": [
            {
                "columns": list(group.columns),
                "categories": [list(cats) for cats in group.categories],
                "offset": group.offset,
            }
            for group in params.categorical
        ],
    }


def save_export(params: CompiledParams, directory: Path) -> list[str]:
    """Write `compiled.npz` and `compiled.json` into `directory`; return the file names.

    Each file goes through a temporary name and a rename, like the pickle; the caller records
    the files' sha256 in the manifest, which is written last.
    """
    params.validate()
    arrays, spec = _encode(params)
    for name, data in ((ARRAYS_FILE, arrays), (SPEC_FILE, spec)):
        tmp = directory / (name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, directory / name)
    return list(EXPORT_FILES)


def _encode(params: CompiledParams) -> tuple[bytes, bytes]:
    """The two files' bytes: the npz archive and the JSON document."""
    buffer = io.BytesIO()
    # Uncompressed: the arrays load with one read instead of a zlib pass (about 12 MB for the
    # default model; the JSON vocabularies are the smaller part).
    # Only float64 arrays: nothing is pickled, and `np.load(allow_pickle=False)` reads them.
    # (numpy before 2.1 has no such option and stores it as one more array, which is unused.)
    np.savez(buffer, allow_pickle=False, **_arrays(params))
    spec = json.dumps(_spec(params), separators=(",", ":"), ensure_ascii=False)
    return buffer.getvalue(), spec.encode("utf-8")


def read_export(directory: Path) -> CompiledParams:
    """Read the export in `directory`; the caller has checked the files' sha256 first.

    Nothing in the files is executed: arrays load with `allow_pickle=False`, the rest is JSON.
    Raises ExportError when the content does not form a valid model.
    """
    try:
        return _decode((directory / ARRAYS_FILE).read_bytes(), (directory / SPEC_FILE).read_bytes())
    except OSError as exc:
        raise ExportError(f"{directory}: unreadable compiled export ({exc})") from exc


def round_trip(params: CompiledParams) -> CompiledParams:
    """`params` encoded as the export files and decoded again, in memory.

    The trainer checks this form against the pipeline, so what it verifies is exactly what
    serving will read back.
    """
    return _decode(*_encode(params))


def _decode(arrays_bytes: bytes, spec_bytes: bytes) -> CompiledParams:
    try:
        spec = json.loads(spec_bytes.decode("utf-8"))
        with np.load(io.BytesIO(arrays_bytes), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        params = _params(spec, arrays)
        params.validate()
    except (ValueError, KeyError, TypeError, AttributeError, NotCompilable) as exc:
        raise ExportError(f"unusable compiled export ({exc})") from exc
    return params


def _params(spec: Mapping[str, Any], arrays: Mapping[str, Any]) -> CompiledParams:
    if spec.get("format") != EXPORT_FORMAT:
        raise ValueError(f"export format {spec.get('format')!r}, expected {EXPORT_FORMAT}")
    method = str(spec["method"])
    text = []
    for k, col in enumerate(spec["text_columns"]):
        low, high = col["ngram_range"]
        if low != 1:
            raise ValueError(f"n-grams from {low}")
        text.append(
            TextColumnParams(
                column=str(col["column"]),
                offset=int(col["offset"]),
                token_pattern=str(col["token_pattern"]),
                ngram_max=int(high),
                preprocess=str(col["preprocess"]),
                empty_token=str(col["empty_token"]),
                vocabulary={str(t): int(j) for t, j in col["vocabulary"].items()},
                idf=_float_array(arrays[f"idf_{k}"]),
            )
        )
    categorical = [
        CategoricalParams(
            columns=tuple(str(c) for c in group["columns"]),
            categories=tuple(tuple(str(v) for v in cats) for cats in group["categories"]),
            offset=int(group["offset"]),
        )
        for group in spec["categorical"]
    ]
    classes = [str(c) for c in spec["classes"]]
    return CompiledParams(
        classes=classes,
        text=text,
        categorical=categorical,
        coef_t=_float_array(arrays["coef_t"]),
        intercept=_float_array(arrays["intercept"]),
        method=method,
        sigmoid_a=_float_array(arrays["sigmoid_a"]) if method == "sigmoid" else None,
        sigmoid_b=_float_array(arrays["sigmoid_b"]) if method == "sigmoid" else None,
        isotonic=(
            [
                (_float_array(arrays[f"iso_x_{k}"]), _float_array(arrays[f"iso_y_{k}"]))
                for k in range(len(classes))
            ]
            if method == "isotonic"
            else None
        ),
        beta=float(arrays["beta"][0]) if method == "temperature" else None,
    )


def _float_array(value: Any) -> FloatArray:
    array = np.asarray(value)
    if array.dtype != np.float64:
        raise ValueError(f"expected float64 arrays, found {array.dtype}")
    return array
