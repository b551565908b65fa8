"""The pydicom + numpy + PIL peer of the benchmarks: DICOM to an 8-bit JPEG the way a Python ETL
does it. The 8-bit scaling uses the output range pydicom's apply_windowing maps onto (its
y_min/y_max).

  time PATH ITERATIONS   one file read once, rendered from memory, warmed up (2 renders); prints
                         JSON {"median": ms, "handler": the pixel data handler or null}
                         (npm run bench -- render)
  convert OUT FILE...    every file read from disk and written to OUT/{stem}.jpg, as
                         `eden-etl convert` does; the whole process is what is timed
                         (npm run bench -- startup)
"""
import io, json, os, sys, time
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
from PIL import Image


def render(ds):
    arr = apply_modality_lut(ds.pixel_array, ds)
    if 'WindowCenter' in ds or 'VOILUTSequence' in ds:
        arr = apply_voi_lut(arr, ds, index=0)
        if ds.PixelRepresentation == 0:
            lo, hi = 0, 2 ** ds.BitsStored - 1
        else:
            lo, hi = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
        if 'RescaleSlope' in ds and 'RescaleIntercept' in ds:
            lo = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            hi = hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    else:
        lo, hi = float(arr.min()), float(arr.max())
    out = np.clip((arr - lo) * (255.0 / max(hi - lo, 1)) + 0.5, 0, 255).astype(np.uint8)
    if ds.PhotometricInterpretation == 'MONOCHROME1':
        out = 255 - out
    return Image.fromarray(out)


def time_one(path, iterations):
    data = open(path, 'rb').read()
    syntax = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta.TransferSyntaxUID
    # The handler pydicom itself picks: the first available one that supports the syntax (GDCM
    # for JPEG-LS and JPEG 2000 with python3-gdcm installed, its own numpy RLE decoder for RLE).
    handler = None
    if syntax.is_compressed:
        usable = [h for h in pydicom.config.pixel_data_handlers
                  if h.supports_transfer_syntax(syntax) and h.is_available()]
        if not usable:
            sys.exit('no pixel data handler for ' + syntax.name + ' (apt-get install python3-gdcm)')
        handler = usable[0].HANDLER_NAME
    times = []
    for i in range(iterations + 2):
        started = time.perf_counter()
        buf = io.BytesIO()
        render(pydicom.dcmread(io.BytesIO(data))).save(buf, 'JPEG', quality=90)
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    print(json.dumps({'median': median, 'handler': handler}))


def convert(out, paths):
    os.makedirs(out, exist_ok=True)
    for path in paths:
        stem = os.path.basename(path)
        if stem.lower().endswith('.dcm'):
            stem = stem[:-4]
        render(pydicom.dcmread(path)).save(os.path.join(out, stem + '.jpg'), 'JPEG', quality=90)


if sys.argv[1] == 'time':
    time_one(sys.argv[2], int(sys.argv[3]))
elif sys.argv[1] == 'convert':
    convert(sys.argv[2], sys.argv[3:])
else:
    sys.exit('usage: pydicom-peer.py time PATH ITERATIONS | convert OUT FILE...')
