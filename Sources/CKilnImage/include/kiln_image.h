// CKilnImage: libjpeg-turbo and libpng behind functions that return error codes.
//
// Both libraries report errors by longjmp, which Swift cannot unwind through. Every longjmp target
// lives in the .c files of this target; Swift sees only plain functions that return a status code
// and write a NUL-terminated message into a caller-supplied buffer.
//
// Protocol: call kiln_*_read_info first (parses headers only, allocates no pixel memory), check the
// dimensions against the caller's limits, allocate `width * height * channels * (bit_depth / 8)`
// bytes, then call kiln_*_decode with the same bytes and the same info. decode re-reads the header
// and fails with KILN_IMAGE_ERR_INTERNAL if the layout differs from the info it is given. On any
// failure both functions set info->error_offset (the input position reached, or -1).
#ifndef KILN_IMAGE_H
#define KILN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes.
enum {
    KILN_IMAGE_OK = 0,
    /// The stream violates the format (bad marker, bad chunk, bad Huffman code, CRC error...).
    KILN_IMAGE_ERR_CORRUPT = 1,
    /// The stream ends before the image is complete.
    KILN_IMAGE_ERR_TRUNCATED = 2,
    /// Valid but not supported (12-bit JPEG, arithmetic coding disabled, unusual component count).
    KILN_IMAGE_ERR_UNSUPPORTED = 3,
    /// The caller's output buffer does not match the image (a bug in the caller).
    KILN_IMAGE_ERR_INTERNAL = 4,
    /// The library could not allocate memory.
    KILN_IMAGE_ERR_NO_MEMORY = 5,
};

/// Color layouts of decoded samples.
enum {
    KILN_IMAGE_GRAY = 1,        ///< 1 channel
    KILN_IMAGE_GRAY_ALPHA = 2,  ///< 2 channels: gray, alpha
    KILN_IMAGE_RGB = 3,         ///< 3 channels
    KILN_IMAGE_RGBA = 4,        ///< 4 channels
    KILN_IMAGE_CMYK = 5,        ///< 4 channels, as stored in the file (Adobe files store them inverted)
};

/// What the header says, and how decode will lay the samples out.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// KILN_IMAGE_GRAY ... KILN_IMAGE_CMYK: the layout decode produces.
    int32_t color;
    /// Samples per pixel decode produces (1 to 4).
    int32_t channels;
    /// 8, or 16 (PNG only; samples are then big-endian uint16, two bytes each).
    int32_t bit_depth;
    /// JPEG: 1 when progressive. PNG: 1 when Adam7-interlaced.
    int32_t interlaced;
    /// PNG: 1 when the file is palette-based (decode expands it to RGB or RGBA).
    int32_t palette;
    /// PNG: 1 when the file has a tRNS chunk.
    int32_t has_trns;
    /// JPEG: 1 when an Adobe APP14 marker is present.
    int32_t adobe_marker;
    /// After a failure: the input position the decoder had reached (bytes consumed), or -1.
    int64_t error_offset;
} kiln_image_info;

/// Reads a JPEG header (up to the first scan). Allocates no pixel memory.
int kiln_jpeg_read_info(const uint8_t *data, size_t size, kiln_image_info *info,
                        char *message, size_t message_capacity);

/// Decodes a whole JPEG with libjpeg-turbo's defaults (JDCT_ISLOW, fancy upsampling, no block
/// smoothing changes), as Pillow does. Grayscale → 1 channel, YCbCr/RGB → 3, CMYK/YCCK → 4 (CMYK).
/// `max_scans` bounds the number of progressive scans (a guard against scan-bomb files); 0 means
/// no bound. A stream that ends early is KILN_IMAGE_ERR_TRUNCATED (libjpeg would pad it with gray).
int kiln_jpeg_decode(const uint8_t *data, size_t size, kiln_image_info *info,
                     uint32_t max_scans, uint8_t *out, size_t out_size,
                     char *message, size_t message_capacity);

/// Reads a PNG header (signature, IHDR and the chunks up to the first IDAT).
/// With `trns_to_alpha` = 1 a tRNS chunk becomes an alpha channel in the reported layout.
int kiln_png_read_info(const uint8_t *data, size_t size, int32_t trns_to_alpha, kiln_image_info *info,
                       char *message, size_t message_capacity);

/// Decodes a whole PNG. Palette → RGB (or RGBA with `trns_to_alpha` and a tRNS chunk), gray of 1, 2
/// or 4 bits → 8 bits (scaled as 0x55/0x11 multiples), 16-bit samples kept as big-endian uint16.
/// Interlacing is resolved. Gamma, ICC profiles and sBIT are ignored, as Pillow ignores them.
int kiln_png_decode(const uint8_t *data, size_t size, int32_t trns_to_alpha, kiln_image_info *info,
                    uint8_t *out, size_t out_size, char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif

#endif
