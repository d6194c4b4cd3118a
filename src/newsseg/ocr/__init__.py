"""Real OCR in the loop: render composed pages as images, read them with Tesseract, label what it wrote.

:func:`~newsseg.ocr.render.render_page` draws a page and keeps each character's box and owner,
:func:`~newsseg.ocr.engine.run_tesseract` reads it, :func:`~newsseg.ocr.gold.gold_page` turns the
engine's character boxes into gold spans, and :func:`~newsseg.ocr.store.build_ocr_pages` caches
pages built in parallel. Needs Pillow, a CJK font and ``tesseract`` with ``chi_sim`` data.
"""
