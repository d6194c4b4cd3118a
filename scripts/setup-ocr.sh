#!/usr/bin/env bash
# Install what `newsseg render` and the OCR tests need: Tesseract with simplified-Chinese data and CJK
# fonts, from Debian's packages. Does nothing when they are already there. Needs root (or sudo) to
# install; set NEWSSEG_SKIP_OCR_SETUP=1 to skip (the OCR tests then skip, except under CI, where they fail).
set -euo pipefail
PKGS="tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk fonts-wqy-zenhei fonts-arphic-uming fonts-arphic-ukai"
have() {
  command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
    && fc-list :lang=zh 2>/dev/null | grep -q .
}
if [ "${NEWSSEG_SKIP_OCR_SETUP:-0}" = 1 ] || have; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "setup-ocr: not root and no sudo; install: apt-get install $PKGS (or set NEWSSEG_SKIP_OCR_SETUP=1)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-ocr: no apt-get; install Tesseract 5 with chi_sim data and a CJK font (e.g. Noto CJK) yourself" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q $PKGS >/dev/null || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $PKGS >/dev/null; }
have || { echo "setup-ocr: tesseract/chi_sim or a CJK font is still missing after apt-get" >&2; exit 1; }
