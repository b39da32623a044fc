"""Writes the generated test images of Fixtures/preprocessing/images/ (seeded, small files).

Run from this directory: `python gen_images.py`. Regenerates the whole images/ directory.
Pillow writes what it can; a minimal PNG writer below covers what Pillow cannot write
(16-bit RGB/RGBA/gray+alpha, 2- and 4-bit gray, Adam7 interlacing, eXIf).
"""
import io
import os
import shutil
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
rng = np.random.default_rng(20260601)


def smooth_rgb(h, w, channels=3):
    """Random but spatially smooth content, so resampling has something to interpolate."""
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    phase = rng.uniform(0, 6.28, size=(1, 1, channels))
    freq = rng.uniform(2, 9, size=(1, 1, channels))
    base = 127.5 + 100 * np.sin(freq * x * 3 + phase) * np.cos(freq * y * 2 - phase)
    noise = rng.normal(0, 18, size=(h, w, channels))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


# ---- minimal PNG writer -------------------------------------------------------------------------
def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """samples: uint array [h, w*channels] -> list of row byte strings."""
    rows = []
    for r in samples:
        if bit_depth == 16:
            rows.append(r.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(r.astype(np.uint8).tobytes())
        else:
            per = 8 // bit_depth
            padded = np.zeros(((len(r) + per - 1) // per) * per, dtype=np.uint8)
            padded[: len(r)] = r
            packed = np.zeros(len(padded) // per, dtype=np.uint8)
            for i in range(per):
                packed |= (padded[i::per] << (8 - bit_depth * (i + 1))).astype(np.uint8)
            rows.append(packed.tobytes())
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, samples, color_type, bit_depth, interlace=False, trns=None, plte=None, exif=None):
    """samples: [h, w, c] array of sample values."""
    h, w = samples.shape[:2]
    c = samples.shape[2]
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in pack_rows(sub.reshape(sub.shape[0], -1), bit_depth):
            raw += b"\x00" + row
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    if exif is not None:
        out += chunk(b"eXIf", exif)
    out += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)
    assert c == {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]


def exif_orientation(value):
    """A minimal big-endian TIFF block with IFD0 = {Orientation: value}."""
    return b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(">I", 0)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    p = lambda name: os.path.join(OUT, name)

    # Odd sizes, RGB.
    Image.fromarray(smooth_rgb(1, 1)).save(p("rgb_1x1.png"))
    Image.fromarray(smooth_rgb(500, 3)).save(p("rgb_3x500.png"))
    Image.fromarray(smooth_rgb(129, 257)).save(p("rgb_257x129.png"))
    Image.fromarray(smooth_rgb(23, 17)).save(p("rgb_17x23.png"))
    # Gray, gray+alpha, RGBA, palette with tRNS, 1-bit.
    Image.fromarray(smooth_rgb(19, 31, 1)[..., 0], "L").save(p("gray_31x19.png"))
    Image.fromarray(smooth_rgb(17, 23, 2), "LA").save(p("gray_alpha_23x17.png"))
    Image.fromarray(smooth_rgb(21, 29, 4), "RGBA").save(p("rgba_29x21.png"))
    pal = Image.fromarray(smooth_rgb(27, 33)).quantize(colors=40, dither=Image.Dither.NONE)
    pal.info["transparency"] = bytes(rng.integers(0, 256, size=40, dtype=np.uint8))
    pal.save(p("palette_trns_33x27.png"), transparency=pal.info["transparency"])
    pal16 = Image.fromarray(smooth_rgb(15, 21)).quantize(colors=16, dither=Image.Dither.NONE)
    pal16.save(p("palette_4bit_21x15.png"), bits=4)
    Image.fromarray(smooth_rgb(13, 37, 1)[..., 0] > 127).save(p("bilevel_37x13.png"))
    # 16-bit: gray (Pillow clips I;16 to 255 on convert), RGB, RGBA, gray+alpha.
    g16 = rng.integers(0, 700, size=(19, 27, 1)).astype(np.uint16)
    g16[0, :5, 0] = [0, 255, 256, 65535, 1000]
    write_png(p("gray16_27x19.png"), g16, 0, 16)
    write_png(p("rgb16_25x18.png"), rng.integers(0, 65536, size=(18, 25, 3)), 2, 16)
    write_png(p("rgba16_14x11.png"), rng.integers(0, 65536, size=(11, 14, 4)), 6, 16)
    write_png(p("gray_alpha16_12x9.png"), rng.integers(0, 65536, size=(9, 12, 2)), 4, 16)
    # Low bit depths and interlacing.
    write_png(p("gray2_19x7.png"), rng.integers(0, 4, size=(7, 19, 1)), 0, 2)
    write_png(p("gray4_13x10.png"), rng.integers(0, 16, size=(10, 13, 1)), 0, 4)
    write_png(p("interlaced_rgb_37x29.png"), smooth_rgb(29, 37), 2, 8, interlace=True)
    write_png(p("interlaced_rgba16_11x13.png"), rng.integers(0, 65536, size=(13, 11, 4)), 6, 16, interlace=True)
    write_png(p("interlaced_palette_9x6.png"), rng.integers(0, 4, size=(6, 9, 1)), 3, 2, interlace=True,
              plte=bytes(rng.integers(0, 256, size=12, dtype=np.uint8)), trns=b"\x00\x80")
    write_png(p("gray_trns_15x8.png"), rng.integers(0, 256, size=(8, 15, 1)), 0, 8, trns=b"\x00\x40")
    write_png(p("exif6_png_11x5.png"), smooth_rgb(5, 11), 2, 8, exif=exif_orientation(6))
    # JPEG: baseline with each chroma subsampling, progressive, gray, CMYK (Adobe marker and not).
    for sub, name in [(0, "444"), (1, "422"), (2, "420")]:
        Image.fromarray(smooth_rgb(23, 17)).save(p(f"jpeg_{name}_17x23.jpg"), quality=90, subsampling=sub)
    Image.fromarray(smooth_rgb(129, 257)).save(p("jpeg_420_257x129.jpg"), quality=85)
    Image.fromarray(smooth_rgb(61, 83)).save(p("progressive_83x61.jpg"), quality=80, progressive=True)
    Image.fromarray(smooth_rgb(21, 35, 1)[..., 0], "L").save(p("gray_35x21.jpg"), quality=90)
    cmyk = Image.fromarray(smooth_rgb(19, 26, 4), "CMYK")
    buf = io.BytesIO()
    cmyk.save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    with open(p("cmyk_26x19.jpg"), "wb") as f:
        f.write(data)
    # The same file without its APP14 "Adobe" segment: Pillow still assumes inverted CMYK.
    i = data.find(b"\xff\xee")
    assert i > 0 and data[i + 4:i + 9] == b"Adobe"
    n = struct.unpack(">H", data[i + 2:i + 4])[0]
    with open(p("cmyk_noadobe_26x19.jpg"), "wb") as f:
        f.write(data[:i] + data[i + 2 + n:])
    # EXIF orientations 1..8 on one asymmetric 13x7 JPEG (quality 95, 4:4:4).
    base = Image.fromarray(smooth_rgb(7, 13))
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        base.save(p(f"exif{o}_13x7.jpg"), quality=95, subsampling=0, exif=exif.tobytes())

    # Inputs that must fail with typed errors.
    bad = os.path.join(OUT, "bad")
    os.makedirs(bad)
    # PNG whose IHDR claims 60000x60000 (3.6 GP) with a tiny valid IDAT: the limit must trip
    # from the header, before any pixel memory exists.
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    huge += chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    open(os.path.join(bad, "huge_60000x60000.png"), "wb").write(huge)
    # JPEG: a real 8x8 file with its SOF0 dimensions patched to 60000x60000.
    buf = io.BytesIO()
    Image.fromarray(smooth_rgb(8, 8)).save(buf, "JPEG", quality=90)
    j = bytearray(buf.getvalue())
    s = j.find(b"\xff\xc0")
    j[s + 5:s + 9] = struct.pack(">HH", 60000, 60000)
    open(os.path.join(bad, "huge_60000x60000.jpg"), "wb").write(bytes(j))
    Image.fromarray(smooth_rgb(4, 4)).save(os.path.join(bad, "tiny.gif"))
    Image.fromarray(smooth_rgb(4, 4)).save(os.path.join(bad, "tiny.bmp"))
    # A PNG with a corrupted IDAT CRC and one with a corrupted zlib stream.
    good = open(p("rgb_17x23.png"), "rb").read()
    k = good.find(b"IDAT")
    n = struct.unpack(">I", good[k - 4:k])[0]
    crc = bytearray(good)
    crc[k + 4 + n] ^= 0xFF
    open(os.path.join(bad, "bad_crc.png"), "wb").write(bytes(crc))
    z = bytearray(good)
    z[k + 4:k + 4 + n] = bytes(rng.integers(0, 256, size=n, dtype=np.uint8))
    z[k + 4 + n:k + 8 + n] = struct.pack(">I", zlib.crc32(bytes(z[k:k + 4 + n])) & 0xFFFFFFFF)
    open(os.path.join(bad, "bad_zlib.png"), "wb").write(bytes(z))
    # JPEG whose Huffman tables are garbage.
    jj = bytearray(open(p("jpeg_420_17x23.jpg"), "rb").read())
    h = jj.find(b"\xff\xc4")
    jj[h + 5:h + 21] = b"\xff" * 16
    open(os.path.join(bad, "bad_huffman.jpg"), "wb").write(bytes(jj))

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {sum(len(fs) for _, _, fs in os.walk(OUT))} files, {total} bytes")


if __name__ == "__main__":
    main()
