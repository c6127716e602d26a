#!/usr/bin/python3
"""Renders text-line and page images and writes them preprocessed as PaddleOCR feeds its models,
for calibrating and checking the int8 PaddleOCR models (called by ocr_quant.sh).

  render_ocr.py OUT [--rec N] [--cls N] [--det N] [--batch B] [--det-batch B] [--dict KEYS.txt]

Writes, for MODEL in rec, cls, det:
  OUT/MODEL/calib/batch_000.npy ...   calibration batches (B images each; det: --det-batch pages)
  OUT/MODEL/heldout/inputs.npy        N images never used for calibration (other seed and texts)
  OUT/rec/heldout/texts.json          the held-out lines' texts (for CTC-decoded accuracy)
  OUT/cls/heldout/labels.npy          0 upright, 1 rotated 180 degrees (the classifier's classes)
N is the count of each set (calibration and held-out alike; defaults rec 64, cls 64, det 8).

Images (seeded, so every run writes the same bytes): English words, numbers, dates, prices and
punctuation in DejaVu fonts (fonts-dejavu), simplified Chinese and mixed lines in Noto CJK SC
(fonts-noto-cjk; PP-OCRv4 rec is a Chinese+English model), at several sizes, weights and colours,
slightly rotated, blurred and noised. A line is cropped around its text like a detector's box.

Preprocessing (PaddleOCR's tools/infer/predict_{rec,cls,det}.py; images are read as BGR by cv2):
  rec: 3x48xW with W = max(320, 48 * widest w/h in the batch) (ONNX rec: width dynamic); each line
       resized to height 48 keeping its aspect ratio (width ceil(48 w/h), at most W), x/255,
       (x - 0.5)/0.5, padded on the right with 0. Lines here are cut to fit 320, so W = 320.
  cls: the same at 3x48x192 (wider lines are squeezed to 192, as PaddleOCR does).
  det: DetResizeForTest (limit_side_len 960, limit_type max; sides rounded to multiples of 32),
       NormalizeImage (x/255 - mean)/std with ImageNet mean/std applied in the BGR image's channel
       order, as PaddleOCR does, then HWC -> CHW. Pages are 640x480, so no resize happens.
Resizes are bilinear with cv2's half-pixel convention (cv2.resize INTER_LINEAR, no antialias).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DEJAVU = "/usr/share/fonts/truetype/dejavu/"
NOTO_CJK = "/usr/share/fonts/opentype/noto/"
LATIN_FONTS = [DEJAVU + f + ".ttf" for f in (
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSerif", "DejaVuSerif-Bold",
    "DejaVuSerif-Italic", "DejaVuSansMono", "DejaVuSansCondensed", "DejaVuSerifCondensed")]
# Face 2 of each collection is the simplified Chinese one (SC).
CJK_FONTS = [(NOTO_CJK + f + ".ttc", 2) for f in (
    "NotoSansCJK-Regular", "NotoSansCJK-Bold", "NotoSerifCJK-Regular", "NotoSerifCJK-Bold")]

WORDS = """the of and to in is for on that with as by this from at are be it or an was have not
which you all can more new data about will one has page time price total order name date model
text line image result value number report system market water energy city school office street
hotel coffee bank account invoice receipt customer service phone email address update delivery
package shipping payment amount balance station train airport ticket gate seat flight museum
library open closed monday friday summer winter north south east west left right green blue red
quality power speed network memory storage version release download upload search help contact
Welcome Total Subtotal Invoice Receipt Address Phone Email Date Time Order Page Chapter Section
Table Figure Note Warning Error Exit Entrance Parking Hospital Station Airport University Road
OCR PDF USB CPU GPU API HTTP ISBN VAT EUR USD NASA UNESCO""".split()
# Frequent simplified characters and words; characters missing from the model's dictionary are
# dropped when --dict is given.
CHINESE_WORDS = """中国 我们 他们 时间 公司 工作 问题 发展 经济 社会 国家 技术 文化 学生 学校 老师
北京 上海 广州 深圳 城市 地区 人民 政府 市场 企业 产品 服务 信息 网络 数据 系统 管理 价格 合计
金额 日期 地址 电话 姓名 编号 订单 发票 银行 账户 医院 车站 机场 出口 入口 停车场 大学 图书馆
欢迎 光临 营业 时间 开放 关闭 今天 明天 昨天 星期 上午 下午 晚上 春天 夏天 秋天 冬天 东西 南北
左右 上下 前后 大小 多少 高低 长短 新闻 报告 会议 通知 重要 注意 安全 质量 标准 规定 要求 结果
方法 研究 科学 教育 历史 世界 生活 健康 环境 能源 交通 旅游 美食 咖啡 茶叶 水果 蔬菜 面包 牛奶
第一 第二 第三 第四 第五 第六 第七 第八 第九 第十 一 二 三 四 五 六 七 八 九 十 百 千 万 亿 元
角 分 年 月 日 号 的 是 在 有 和 了 不 人 这 为 上 个 到 说 也 就 要 会 可 以 对 能 而 下 过 子 得
自 然 后 于 来 去 里 如 家 还 都 所 同 行 与 方 心 面 手 出 进 多 最 现 见 用 作 开 生 学 看 着 长""".split()
CJK_PUNCT = list("，。、：；！？（）《》“”")
LATIN_PUNCT = list(".,:;!?-/()%&@#+*'\"")


def load_dict(path):
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n") for line in f} | {" "}


def latin_text(rng):
    kind = rng.integers(0, 5)
    if kind == 0:  # a date and time
        return (f"{rng.integers(1990, 2031)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
                f" {rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}")
    if kind == 1:  # a price or amount
        word = WORDS[rng.integers(len(WORDS))].capitalize()
        currency = rng.choice(["$", "EUR ", ""])
        return f"{word}: {currency}{rng.integers(0, 10000)}.{rng.integers(0, 100):02d}"
    if kind == 2:  # a phone number or code
        if rng.random() < 0.5:
            return f"+{rng.integers(1, 99)} {rng.integers(100, 999)} {rng.integers(1000, 9999)}"
        return "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"), rng.integers(5, 11)))
    words = [WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(1, 4))]
    text = " ".join(words)
    if rng.random() < 0.5:
        text += LATIN_PUNCT[rng.integers(len(LATIN_PUNCT))]
    if rng.random() < 0.3:
        text = text.upper() if rng.random() < 0.5 else text.capitalize()
    return text


def chinese_text(rng, vocab):
    parts = [CHINESE_WORDS[i] for i in rng.integers(0, len(CHINESE_WORDS), rng.integers(1, 5))]
    text = "".join(parts)
    if rng.random() < 0.4:  # mixed with digits or a Latin word, as on signs and receipts
        extra = (str(rng.integers(1, 2000)) if rng.random() < 0.6
                 else WORDS[rng.integers(len(WORDS))].upper())
        text = text + extra if rng.random() < 0.5 else extra + text
    if rng.random() < 0.4:
        text += CJK_PUNCT[rng.integers(len(CJK_PUNCT))]
    if vocab is not None:
        text = "".join(c for c in text if c in vocab)
    return text or "中文"


def colours(rng):
    """Background and text colour (RGB) with enough contrast to be legible."""
    while True:
        bg = rng.integers(0, 256, 3)
        fg = rng.integers(0, 256, 3)
        if rng.random() < 0.6:  # most documents: dark on light
            bg = rng.integers(180, 256, 3)
            fg = rng.integers(0, 90, 3)
        if abs(int(bg.mean()) - int(fg.mean())) > 90:
            return tuple(int(v) for v in bg), tuple(int(v) for v in fg)


def pick_font(rng, cjk, size):
    if cjk:
        path, index = CJK_FONTS[rng.integers(len(CJK_FONTS))]
        return ImageFont.truetype(path, size, index=index)
    return ImageFont.truetype(LATIN_FONTS[rng.integers(len(LATIN_FONTS))], size)


def degrade(img, rng):
    """Slight blur and sensor noise, in place of a camera's."""
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.normal(0.0, rng.uniform(0.0, 8.0), arr.shape)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))


def render_line(rng, vocab, max_ratio):
    """(RGB image of one text line cropped like a detector box, its text)."""
    cjk = rng.random() < 0.5
    text = chinese_text(rng, vocab) if cjk else latin_text(rng)
    size = int(rng.integers(22, 44))
    font = pick_font(rng, cjk, size)
    bg, fg = colours(rng)
    while True:
        left, top, right, bottom = font.getbbox(text)
        margin_x, margin_y = int(rng.integers(2, 10)), int(rng.integers(2, 9))
        w, h = right - left + 2 * margin_x, bottom - top + 2 * margin_y
        # Lines are cut to PaddleOCR's default 320x48 so that every batch has the same width.
        if w / h <= max_ratio or len(text) <= 2:
            break
        text = text[:-1].rstrip()
    img = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(img).text((margin_x - left, margin_y - top), text, font=font, fill=fg)
    angle = float(rng.uniform(-2.5, 2.5))
    if abs(angle) > 0.5:
        img = img.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=bg)
    return degrade(img, rng), text


def render_page(rng, vocab, width=640, height=480):
    """A page of several lines at random places (for the detector)."""
    bg, _ = colours(rng)
    page = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(page)
    y = int(rng.integers(10, 40))
    while True:
        cjk = rng.random() < 0.5
        size = int(rng.integers(16, 40))
        font = pick_font(rng, cjk, size)
        text = chinese_text(rng, vocab) if cjk else latin_text(rng)
        if rng.random() < 0.5:
            text += "  " + (chinese_text(rng, vocab) if cjk else latin_text(rng))
        left, top, right, bottom = font.getbbox(text)
        if y + bottom - top + 10 > height:
            break
        x = int(rng.integers(8, max(9, width - (right - left) - 8)))
        _, fg = colours(rng)
        while abs(sum(fg) - sum(bg)) < 270:
            _, fg = colours(rng)
        draw.text((x - left, y - top), text, font=font, fill=fg)
        y += bottom - top + int(rng.integers(8, 40))
    angle = float(rng.uniform(-3, 3))
    page = page.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=bg)
    return degrade(page, rng)


def resize_bilinear(img, out_w, out_h):
    """cv2.resize(img, (out_w, out_h)) with INTER_LINEAR: half-pixel centres, edge clamped, no
    antialiasing (PIL's BILINEAR filters when shrinking; PaddleOCR's cv2 does not)."""
    h, w = img.shape[:2]
    src = img.astype(np.float32)

    def axis(out, size):
        pos = (np.arange(out, dtype=np.float64) + 0.5) * (size / out) - 0.5
        pos = np.clip(pos, 0, size - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, size - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, fy = axis(out_h, h)
    x0, x1, fx = axis(out_w, w)
    rows = src[y0] * (1 - fy)[:, None, None] + src[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)  # cv2 keeps uint8


def to_bgr(img):
    return np.asarray(img.convert("RGB"))[:, :, ::-1]


def line_input(img, height, width):
    """PaddleOCR's resize_norm_img for rec and cls: [3, height, width] float32."""
    bgr = to_bgr(img)
    h, w = bgr.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / float(h))))
    resized = resize_bilinear(bgr, resized_w, height).astype(np.float32)
    resized = resized.transpose(2, 0, 1) / 255.0
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :resized_w] = (resized - 0.5) / 0.5
    return out


DET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def det_input(img, limit_side_len=960):
    """PaddleOCR's DetResizeForTest (type 0, limit_type max) + NormalizeImage + ToCHWImage."""
    bgr = to_bgr(img)
    h, w = bgr.shape[:2]
    ratio = float(limit_side_len) / max(h, w) if max(h, w) > limit_side_len else 1.0
    resize_h = max(int(round(int(h * ratio) / 32) * 32), 32)
    resize_w = max(int(round(int(w * ratio) / 32) * 32), 32)
    if (resize_h, resize_w) != (h, w):
        bgr = resize_bilinear(bgr, resize_w, resize_h)
    x = (bgr.astype(np.float32) / 255.0 - DET_MEAN) / DET_STD
    return x.transpose(2, 0, 1).astype(np.float32)


def write_set(folder, arrays, batch):
    """Calibration batches (batch_000.npy, ...) when BATCH, else one inputs.npy."""
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".npy"):
            os.remove(os.path.join(folder, name))
    data = np.stack(arrays)
    if batch:
        for i in range(0, len(data), batch):
            np.save(os.path.join(folder, f"batch_{i // batch:03d}.npy"), data[i:i + batch])
    else:
        np.save(os.path.join(folder, "inputs.npy"), data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--rec", type=int, default=64)
    p.add_argument("--cls", type=int, default=64)
    p.add_argument("--det", type=int, default=8)
    p.add_argument("--batch", type=int, default=8, help="lines per calibration batch")
    p.add_argument("--det-batch", type=int, default=2, help="pages per calibration batch")
    p.add_argument("--dict", default="", help="rec's character list (ppocr_keys_v1.txt)")
    p.add_argument("--save-png", action="store_true", help="also save the first images (review)")
    args = p.parse_args()
    for path in LATIN_FONTS + [f for f, _ in CJK_FONTS]:
        if not os.path.exists(path):
            sys.exit(f"render_ocr: {path} is missing (scripts/deps.sh --peers installs "
                     "fonts-dejavu and fonts-noto-cjk)")
    vocab = load_dict(args.dict)
    rec_w, rec_h, cls_w = 320, 48, 192
    # Seeds: calibration and held-out differ per model, so no held-out image or text is a
    # calibration one (texts repeat only by chance, with other fonts, colours and noise).
    for split, seed_base, batch in (("calib", 100, True), ("heldout", 200, False)):
        rng = np.random.default_rng(seed_base + 1)
        lines, texts = [], []
        for _ in range(args.rec):
            img, text = render_line(rng, vocab, rec_w / rec_h)
            lines.append(img)
            texts.append(text)
        write_set(os.path.join(args.out, "rec", split),
                  [line_input(img, rec_h, rec_w) for img in lines], batch and args.batch)
        if split == "heldout":
            with open(os.path.join(args.out, "rec", split, "texts.json"), "w") as f:
                json.dump(texts, f, ensure_ascii=False, indent=0)

        rng = np.random.default_rng(seed_base + 2)
        cls_images, labels = [], []
        for i in range(args.cls):
            img, _ = render_line(rng, vocab, 2 * cls_w / rec_h)
            flip = i % 2  # half of them upside down: the classifier's class 1 ("180")
            cls_images.append(img.rotate(180) if flip else img)
            labels.append(flip)
        write_set(os.path.join(args.out, "cls", split),
                  [line_input(img, rec_h, cls_w) for img in cls_images], batch and args.batch)
        if split == "heldout":
            np.save(os.path.join(args.out, "cls", split, "labels.npy"),
                    np.array(labels, dtype=np.int64))

        rng = np.random.default_rng(seed_base + 3)
        pages = [render_page(rng, vocab) for _ in range(args.det)]
        write_set(os.path.join(args.out, "det", split), [det_input(pg) for pg in pages],
                  batch and args.det_batch)
        if args.save_png and split == "heldout":
            review = os.path.join(args.out, "png")
            os.makedirs(review, exist_ok=True)
            for i in range(min(8, len(lines))):
                lines[i].save(os.path.join(review, f"rec_{i}.png"))
                cls_images[i].save(os.path.join(review, f"cls_{i}.png"))
            pages[0].save(os.path.join(review, "det_0.png"))
    print(f"render_ocr: rec {args.rec}+{args.rec} lines (3x{rec_h}x{rec_w}), cls {args.cls}+"
          f"{args.cls} (3x{rec_h}x{cls_w}), det {args.det}+{args.det} pages (3x480x640) in "
          f"{args.out}")


if __name__ == "__main__":
    main()
