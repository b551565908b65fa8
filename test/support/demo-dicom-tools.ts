import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Independent DICOM readers (dcmtk's dcmdump, pydicom) used as the judges of the files the
 * sample PACS writes: our own parser reading our own writer's output would prove nothing.
 */

const run = promisify(execFile);

export interface ToolResult {
  ok: boolean;
  /** Combined diagnostics, empty when the tool was clean. */
  problems: string;
}

/** dcmdump exits 0 on a readable file but still reports doubtful encodings as W:/E: lines. */
export async function dcmdumpCheck(path: string): Promise<ToolResult> {
  try {
    const { stderr } = await run('dcmdump', ['-q', path], { maxBuffer: 64 << 20 });
    const problems = stderr
      .split('\n')
      .filter((line) => /^(W|E|F):/.test(line))
      .join('\n');
    return { ok: problems === '', problems };
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    return { ok: false, problems: failure.stderr ?? failure.message };
  }
}

/** Every warning becomes an error, so a file pydicom merely tolerates fails the check. */
const PYDICOM_SCRIPT = `
import json, sys, pydicom
for path in sys.argv[1:]:
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    print(json.dumps({
        "path": path,
        "transferSyntax": str(ds.file_meta.TransferSyntaxUID),
        "sopClassUid": str(ds.SOPClassUID),
        "photometric": str(ds.PhotometricInterpretation),
        "bitsStored": int(ds.BitsStored),
        "pixelRepresentation": int(ds.PixelRepresentation),
        "windowCenter": [float(v) for v in ds.WindowCenter] if "WindowCenter" in ds and ds["WindowCenter"].VM > 1 else ([float(ds.WindowCenter)] if "WindowCenter" in ds else None),
        "rescale": "RescaleSlope" in ds,
        "paddingValue": int(ds.PixelPaddingValue) if "PixelPaddingValue" in ds else None,
        "shape": list(pixels.shape),
        "dtype": str(pixels.dtype),
        "min": int(pixels.min()),
        "max": int(pixels.max()),
    }))
`;

let pythonWithPydicom: Promise<string> | undefined;

/**
 * Debian's python3-pydicom lives in the system interpreter, which a pyenv or venv `python3` on
 * PATH hides; the first interpreter that can import pydicom and numpy wins.
 */
function findPython(): Promise<string> {
  pythonWithPydicom ??= (async () => {
    for (const candidate of ['python3', '/usr/bin/python3']) {
      try {
        await run(candidate, ['-c', 'import pydicom, numpy']);
        return candidate;
      } catch {
        // Not this interpreter; try the next one, the error below names all of them.
      }
    }
    throw new Error(
      'no python3 with pydicom and numpy found (tried python3, /usr/bin/python3); install python3-pydicom',
    );
  })();
  return pythonWithPydicom;
}

export interface PydicomImage {
  path: string;
  transferSyntax: string;
  sopClassUid: string;
  photometric: string;
  bitsStored: number;
  pixelRepresentation: number;
  /** null when the file has no VOI window. */
  windowCenter: number[] | null;
  rescale: boolean;
  paddingValue: number | null;
  shape: number[];
  dtype: string;
  min: number;
  max: number;
}

/** Reads each file with pydicom (warnings as errors) and decodes its pixel data. */
export async function pydicomCheck(
  paths: readonly string[],
): Promise<ToolResult & { images: PydicomImage[] }> {
  const python = await findPython();
  try {
    const { stdout, stderr } = await run(python, ['-W', 'error', '-c', PYDICOM_SCRIPT, ...paths], {
      maxBuffer: 64 << 20,
    });
    const images = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PydicomImage);
    return { ok: stderr.trim() === '', problems: stderr.trim(), images };
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    return { ok: false, problems: failure.stderr ?? failure.message, images: [] };
  }
}
