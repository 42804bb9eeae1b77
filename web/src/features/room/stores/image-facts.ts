// An image's width, height and small thumbnail, made in the browser (a canvas) before the
// file is sealed: the thumbnail travels inside the sealed message (docs/envelope.md §5.1),
// so readers see the image inline without downloading the whole file.

import { encodeBase64 } from "@/lib/base64";
import { MAX_DIMENSION, MAX_THUMBNAIL_BYTES } from "@/lib/file-content";
import type { ImageFacts } from "@/lib/file-transfer";

const SIDES = [320, 240, 160, 96];
const QUALITIES = [0.8, 0.6, 0.4];

/** Facts of an image the browser can decode; null for anything else. */
export async function describeImage(file: File): Promise<ImageFacts | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  try {
    const { width, height } = bitmap;
    if (width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION) return null;
    for (const side of SIDES) {
      const scale = Math.min(1, side / Math.max(width, height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      const context = canvas.getContext("2d");
      if (!context) return { width, height };
      // JPEG has no transparency: transparent pixels become white, not black.
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of QUALITIES) {
        const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
        if (blob && blob.size > 0 && blob.size <= MAX_THUMBNAIL_BYTES) {
          const data = encodeBase64(new Uint8Array(await blob.arrayBuffer()));
          return { width, height, thumbnail: { media_type: "image/jpeg", data } };
        }
      }
    }
    return { width, height };
  } finally {
    bitmap.close();
  }
}
