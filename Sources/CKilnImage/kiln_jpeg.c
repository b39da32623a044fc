// JPEG decoding with libjpeg-turbo. libjpeg reports fatal errors through error_exit, which must
// not return; we longjmp back to the entry point, so no libjpeg frame is ever unwound by Swift.
#include "kiln_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int status;        // status to return when error_exit fires
    int hit_eof;       // the source ran dry and libjpeg padded the stream with a fake EOI
    const char *eof_message; // the message for that: which part of the stream was cut off
    char *message;
    size_t capacity;
} kiln_jpeg_error;

typedef struct {
    struct jpeg_progress_mgr pub;
    uint32_t max_scans;
} kiln_jpeg_progress;

static void kiln_set_message(char *message, size_t capacity, const char *text) {
    if (message == NULL || capacity == 0) return;
    snprintf(message, capacity, "%s", text);
}

static int kiln_jpeg_status_for(int code) {
    switch (code) {
    case JERR_OUT_OF_MEMORY:
        return KILN_IMAGE_ERR_NO_MEMORY;
    case JERR_BAD_PRECISION:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_IMAGE_TOO_BIG:
    case JERR_COMPONENT_COUNT:
        return KILN_IMAGE_ERR_UNSUPPORTED;
    default:
        // Running out of data never gets here: the warning handler reports it as truncation first.
        return KILN_IMAGE_ERR_CORRUPT;
    }
}

static int64_t kiln_jpeg_position(j_decompress_ptr cinfo, const uint8_t *data) {
    if (cinfo->src == NULL || cinfo->src->next_input_byte == NULL) return -1;
    return (int64_t)(cinfo->src->next_input_byte - (const JOCTET *)data);
}

static void kiln_jpeg_error_exit(j_common_ptr cinfo) {
    kiln_jpeg_error *err = (kiln_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    kiln_set_message(err->message, err->capacity, buffer);
    err->status = kiln_jpeg_status_for(cinfo->err->msg_code);
    longjmp(err->jump, 1);
}

static void kiln_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    kiln_jpeg_error *err = (kiln_jpeg_error *)cinfo->err;
    // Warnings (level -1) are counted but not printed: libjpeg recovers from corrupt entropy data
    // as Pillow does. Running out of data is different: the image is truncated, an error, and it
    // stops here. Letting libjpeg go on reading the fake EOI markers its memory source inserts is
    // unbounded work: a 1 kB file made the header reader allocate gigabytes (found by fuzz-image).
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            err->hit_eof = 1;
            err->status = KILN_IMAGE_ERR_TRUNCATED;
            kiln_set_message(err->message, err->capacity, err->eof_message);
            longjmp(err->jump, 1);
        }
    }
}

static void kiln_jpeg_progress_monitor(j_common_ptr cinfo) {
    kiln_jpeg_progress *progress = (kiln_jpeg_progress *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (progress->max_scans != 0 && dinfo->input_scan_number > 0 &&
        (uint32_t)dinfo->input_scan_number > progress->max_scans) {
        kiln_jpeg_error *err = (kiln_jpeg_error *)cinfo->err;
        char buffer[128];
        snprintf(buffer, sizeof buffer, "more than %u progressive scans", (unsigned)progress->max_scans);
        kiln_set_message(err->message, err->capacity, buffer);
        err->status = KILN_IMAGE_ERR_UNSUPPORTED;
        longjmp(err->jump, 1);
    }
}

// Fills `info` from a decompressor whose header has been read and whose output colour space is set.
static int kiln_jpeg_choose_output(j_decompress_ptr cinfo, kiln_image_info *info,
                                   char *message, size_t capacity) {
    memset(info, 0, sizeof *info);
    info->error_offset = -1;
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->bit_depth = 8;
    info->interlaced = cinfo->progressive_mode ? 1 : 0;
    info->adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    // Pillow picks the mode from the component count (1 → L, 3 → RGB, 4 → CMYK) and lets libjpeg
    // convert from the stored colour space; we do the same.
    switch (cinfo->num_components) {
    case 1:
        cinfo->out_color_space = JCS_GRAYSCALE;
        info->color = KILN_IMAGE_GRAY;
        info->channels = 1;
        break;
    case 3:
        cinfo->out_color_space = JCS_RGB;
        info->color = KILN_IMAGE_RGB;
        info->channels = 3;
        break;
    case 4:
        cinfo->out_color_space = JCS_CMYK;
        info->color = KILN_IMAGE_CMYK;
        info->channels = 4;
        break;
    default: {
        char buffer[96];
        snprintf(buffer, sizeof buffer, "JPEG with %d components", cinfo->num_components);
        kiln_set_message(message, capacity, buffer);
        return KILN_IMAGE_ERR_UNSUPPORTED;
    }
    }
    return KILN_IMAGE_OK;
}

int kiln_jpeg_read_info(const uint8_t *data, size_t size, kiln_image_info *info,
                        char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    kiln_jpeg_error err;
    memset(&err, 0, sizeof err);
    err.message = message;
    err.capacity = message_capacity;
    kiln_set_message(message, message_capacity, "");
    if (data == NULL || size == 0 || info == NULL) {
        kiln_set_message(message, message_capacity, "empty input");
        return KILN_IMAGE_ERR_TRUNCATED;
    }
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = kiln_jpeg_error_exit;
    err.pub.emit_message = kiln_jpeg_emit_message;
    info->error_offset = -1;
    err.eof_message = "stream ends inside the header";
    if (setjmp(err.jump)) {
        info->error_offset = err.hit_eof ? (int64_t)size : kiln_jpeg_position(&cinfo, data);
        jpeg_destroy_decompress(&cinfo);
        return err.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int status = kiln_jpeg_choose_output(&cinfo, info, message, message_capacity);
    jpeg_destroy_decompress(&cinfo);
    return status;
}

int kiln_jpeg_decode(const uint8_t *data, size_t size, kiln_image_info *expected,
                     uint32_t max_scans, uint8_t *out, size_t out_size,
                     char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    kiln_jpeg_error err;
    kiln_jpeg_progress progress;
    kiln_image_info info;
    memset(&err, 0, sizeof err);
    memset(&progress, 0, sizeof progress);
    err.message = message;
    err.capacity = message_capacity;
    kiln_set_message(message, message_capacity, "");
    if (expected == NULL) return KILN_IMAGE_ERR_INTERNAL;
    if (data == NULL || size == 0 || out == NULL) {
        kiln_set_message(message, message_capacity, "empty input");
        return KILN_IMAGE_ERR_TRUNCATED;
    }
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = kiln_jpeg_error_exit;
    err.pub.emit_message = kiln_jpeg_emit_message;
    expected->error_offset = -1;
    err.eof_message = "stream ends before the image is complete";
    if (setjmp(err.jump)) {
        expected->error_offset = err.hit_eof ? (int64_t)size : kiln_jpeg_position(&cinfo, data);
        jpeg_destroy_decompress(&cinfo);
        return err.status;
    }
    jpeg_create_decompress(&cinfo);
    progress.pub.progress_monitor = kiln_jpeg_progress_monitor;
    progress.max_scans = max_scans;
    cinfo.progress = &progress.pub;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int status = kiln_jpeg_choose_output(&cinfo, &info, message, message_capacity);
    if (status != KILN_IMAGE_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    size_t row_bytes = (size_t)info.width * (size_t)info.channels;
    if (info.width != expected->width || info.height != expected->height ||
        info.channels != expected->channels || out_size / row_bytes < info.height) {
        jpeg_destroy_decompress(&cinfo);
        kiln_set_message(message, message_capacity, "output buffer does not match the header");
        return KILN_IMAGE_ERR_INTERNAL;
    }
    // Pillow's defaults, spelled out: the accurate integer IDCT and fancy (triangle) upsampling.
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    cinfo.do_block_smoothing = TRUE;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != info.width || cinfo.output_height != info.height ||
        cinfo.output_components != info.channels) {
        jpeg_destroy_decompress(&cinfo);
        kiln_set_message(message, message_capacity, "decoder output does not match the header");
        return KILN_IMAGE_ERR_INTERNAL;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    // Trailing bytes after the last scan (or a missing EOI) are not an error: every pixel was
    // decoded from real data, so stop here instead of reading on to EOI.
    jpeg_destroy_decompress(&cinfo);
    return KILN_IMAGE_OK;
}
