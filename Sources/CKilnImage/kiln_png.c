// PNG decoding with libpng 1.6 from a memory buffer. libpng reports fatal errors by calling the
// error function, which must not return; it longjmps to the setjmp in the entry points below.
#include "kiln_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    char *message;
    size_t capacity;
} kiln_png_io;

static void kiln_png_set_message(char *message, size_t capacity, const char *text) {
    if (message == NULL || capacity == 0) return;
    snprintf(message, capacity, "%s", text);
}

/// Walks the chunk layout before libpng sees the data. libpng buffers an ancillary chunk (eXIf,
/// iCCP, text) whole, allocating the length its header declares before reading it, and this
/// libpng sets no cap: a 276-byte file declaring a 512 MB eXIf chunk made it allocate 512 MB
/// (fuzz-image, Fuzz/regressions/image/png_exif_512mb.png). A chunk that runs past the end of the
/// data is reported here as truncated at its header, before anything is allocated; walking stops
/// at IEND (trailing bytes are libpng's business, as before).
static int kiln_png_check_chunks(const unsigned char *data, size_t size, kiln_image_info *result,
                                 char *message, size_t capacity) {
    size_t pos = 8;
    while (size - pos >= 8) {
        const unsigned char *p = data + pos;
        unsigned long length = ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
                               ((unsigned long)p[2] << 8) | (unsigned long)p[3];
        char type[5] = {0};
        for (int k = 0; k < 4; k++) type[k] = (p[4 + k] >= 32 && p[4 + k] < 127) ? (char)p[4 + k] : '?';
        if (length > 0x7ffffffful) {
            char text[160];
            snprintf(text, sizeof text, "chunk '%s' at byte %zu declares %lu bytes (the PNG limit is 2^31 - 1)",
                     type, pos, length);
            kiln_png_set_message(message, capacity, text);
            result->error_offset = (int64_t)pos;
            return KILN_IMAGE_ERR_CORRUPT;
        }
        if (length + 12 > size - pos) {
            char text[160];
            snprintf(text, sizeof text, "chunk '%s' at byte %zu declares %lu bytes of data; the stream ends %zu bytes later",
                     type, pos, length, size - pos - 8);
            kiln_png_set_message(message, capacity, text);
            result->error_offset = (int64_t)pos;
            return KILN_IMAGE_ERR_TRUNCATED;
        }
        if (memcmp(p + 4, "IEND", 4) == 0) break;
        pos += 12 + length;
    }
    return KILN_IMAGE_OK;
}

static void kiln_png_read(png_structp png, png_bytep out, size_t length) {
    kiln_png_io *io = (kiln_png_io *)png_get_io_ptr(png);
    if (length > io->size - io->position) {
        io->truncated = 1;
        png_error(png, "stream ends before the image is complete");
    }
    memcpy(out, io->data + io->position, length);
    io->position += length;
}

static void kiln_png_error(png_structp png, png_const_charp text) {
    kiln_png_io *io = (kiln_png_io *)png_get_error_ptr(png);
    kiln_png_set_message(io->message, io->capacity, text);
    png_longjmp(png, 1);
}

static void kiln_png_warning(png_structp png, png_const_charp text) {
    // Warnings (a bad ancillary chunk CRC, an unknown critical-looking chunk libpng skips) do not
    // stop decoding, as in Pillow.
    (void)png;
    (void)text;
}

// Sets the transforms decode uses and fills `info` with the resulting layout.
static int kiln_png_configure(png_structp png, png_infop pinfo, int32_t trns_to_alpha,
                              kiln_image_info *info, char *message, size_t capacity) {
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, pinfo, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    memset(info, 0, sizeof *info);
    info->error_offset = -1;
    info->width = width;
    info->height = height;
    info->interlaced = interlace != PNG_INTERLACE_NONE ? 1 : 0;
    info->palette = color_type == PNG_COLOR_TYPE_PALETTE ? 1 : 0;
    info->has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) ? 1 : 0;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (trns_to_alpha && info->has_trns) png_set_tRNS_to_alpha(png);
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);

    int channels = png_get_channels(png, pinfo);
    int depth = png_get_bit_depth(png, pinfo);
    if ((depth != 8 && depth != 16) || channels < 1 || channels > 4) {
        char buffer[96];
        snprintf(buffer, sizeof buffer, "PNG decodes to %d channels of %d bits", channels, depth);
        kiln_png_set_message(message, capacity, buffer);
        return KILN_IMAGE_ERR_UNSUPPORTED;
    }
    info->channels = channels;
    info->bit_depth = depth;
    static const int32_t colors[5] = {0, KILN_IMAGE_GRAY, KILN_IMAGE_GRAY_ALPHA, KILN_IMAGE_RGB, KILN_IMAGE_RGBA};
    info->color = colors[channels];
    if (png_get_rowbytes(png, pinfo) != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        kiln_png_set_message(message, capacity, "unexpected PNG row size");
        return KILN_IMAGE_ERR_UNSUPPORTED;
    }
    return KILN_IMAGE_OK;
}

static int kiln_png_status(const kiln_png_io *io) {
    return io->truncated ? KILN_IMAGE_ERR_TRUNCATED : KILN_IMAGE_ERR_CORRUPT;
}

// Shared body of read_info (out == NULL) and decode.
// With out == NULL it fills *result; otherwise it decodes into out after checking that the
// layout equals *result. Either way result->error_offset tells where a failure happened.
static int kiln_png_run(const uint8_t *data, size_t size, int32_t trns_to_alpha, kiln_image_info *result,
                        uint8_t *out, size_t out_size, char *message, size_t capacity) {
    kiln_png_set_message(message, capacity, "");
    if (result == NULL) return KILN_IMAGE_ERR_INTERNAL;
    kiln_image_info expected = *result;
    kiln_image_info actual;
    kiln_image_info *info = out == NULL ? result : &actual;
    memset(&actual, 0, sizeof actual);
    result->error_offset = -1;
    if (data == NULL || size == 0) {
        kiln_png_set_message(message, capacity, "empty input");
        return KILN_IMAGE_ERR_TRUNCATED;
    }
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        kiln_png_set_message(message, capacity, size < 8 ? "stream ends inside the signature" : "not a PNG signature");
        return size < 8 ? KILN_IMAGE_ERR_TRUNCATED : KILN_IMAGE_ERR_CORRUPT;
    }
    int chunks = kiln_png_check_chunks(data, size, result, message, capacity);
    if (chunks != KILN_IMAGE_OK) return chunks;
    kiln_png_io io;
    memset(&io, 0, sizeof io);
    io.data = data;
    io.size = size;
    io.message = message;
    io.capacity = capacity;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, kiln_png_error, kiln_png_warning);
    if (png == NULL) {
        kiln_png_set_message(message, capacity, "png_create_read_struct failed");
        return KILN_IMAGE_ERR_NO_MEMORY;
    }
    png_infop pinfo = png_create_info_struct(png);
    if (pinfo == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        kiln_png_set_message(message, capacity, "png_create_info_struct failed");
        return KILN_IMAGE_ERR_NO_MEMORY;
    }
    // Row pointers live outside the setjmp scope so the error path can free them.
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_free(png, rows);
        result->error_offset = (int64_t)io.position;
        png_destroy_read_struct(&png, &pinfo, NULL);
        return kiln_png_status(&io);
    }
    png_set_read_fn(png, &io, kiln_png_read);
    // Kiln enforces its own pixel limit before allocating; libpng's default 1,000,000-pixel
    // per-dimension limit would reject legitimate panoramas with a less useful message.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, pinfo);
    int status = kiln_png_configure(png, pinfo, trns_to_alpha, info, message, capacity);
    if (status != KILN_IMAGE_OK || out == NULL) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return status;
    }
    size_t row_bytes = (size_t)info->width * (size_t)info->channels * (size_t)(info->bit_depth / 8);
    if (info->width != expected.width || info->height != expected.height ||
        info->channels != expected.channels || info->bit_depth != expected.bit_depth ||
        row_bytes == 0 || out_size / row_bytes < info->height) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        kiln_png_set_message(message, capacity, "output buffer does not match the header");
        return KILN_IMAGE_ERR_INTERNAL;
    }
    rows = (png_bytep *)png_malloc(png, sizeof(png_bytep) * (size_t)info->height);
    for (png_uint_32 y = 0; y < info->height; y++) rows[y] = out + (size_t)y * row_bytes;
    png_read_image(png, rows);
    // Chunks after the image data (text, time) are not needed; a truncated tail after IDAT is
    // therefore accepted, as Pillow accepts it.
    png_free(png, rows);
    rows = NULL;
    png_destroy_read_struct(&png, &pinfo, NULL);
    return KILN_IMAGE_OK;
}

int kiln_png_read_info(const uint8_t *data, size_t size, int32_t trns_to_alpha, kiln_image_info *info,
                       char *message, size_t message_capacity) {
    return kiln_png_run(data, size, trns_to_alpha, info, NULL, 0, message, message_capacity);
}

int kiln_png_decode(const uint8_t *data, size_t size, int32_t trns_to_alpha, kiln_image_info *info,
                    uint8_t *out, size_t out_size, char *message, size_t message_capacity) {
    if (out == NULL) {
        kiln_png_set_message(message, message_capacity, "no output buffer");
        return KILN_IMAGE_ERR_INTERNAL;
    }
    return kiln_png_run(data, size, trns_to_alpha, info, out, out_size, message, message_capacity);
}
