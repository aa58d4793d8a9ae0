import iconv from 'iconv-lite'

/** Turns the bytes of a file into text, chunk by chunk; a multi-byte character may span chunks. */
export interface TextDecoding {
  /** The encoding in use: the one asked for, or `utf-8` when the file starts with a UTF-8 BOM. */
  readonly encoding: string
  write(bytes: Buffer): string
  end(): string
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])

/**
 * A streaming decoder for `encoding`. Bytes that are not valid in it become U+FFFD, which the
 * readers flag per row. A UTF-8 byte order mark is dropped; it also wins over a declared
 * single-byte encoding, since a file that starts with one is UTF-8 whatever it was called.
 *
 * @example
 * const decoding = textDecoding('windows-1252')
 * decoding.write(Buffer.from([0x4d, 0xfc, 0x6c, 0x6c])) // 'Müll'
 */
export function textDecoding(encoding: string): TextDecoding {
  let inner: Decoder | null = null
  let used = encoding
  let head = Buffer.alloc(0)
  // The BOM check needs three bytes; a first chunk shorter than that waits for the next.
  const open = (bytes: Buffer): { decoder: Decoder; rest: Buffer } => {
    const bom = bytes.subarray(0, 3).equals(UTF8_BOM)
    used = bom ? 'utf-8' : encoding
    const decoder = used === 'utf-8' ? utf8() : iconvDecoder(used)
    inner = decoder
    return { decoder, rest: bom ? bytes.subarray(3) : bytes }
  }
  return {
    get encoding() {
      return used
    },
    write(bytes) {
      if (inner) return inner.write(bytes)
      head = Buffer.concat([head, bytes])
      if (head.length < 3) return ''
      const { decoder, rest } = open(head)
      return decoder.write(rest)
    },
    end() {
      if (inner) return inner.end()
      const { decoder, rest } = open(head)
      return decoder.write(rest) + decoder.end()
    },
  }
}

interface Decoder {
  write(bytes: Buffer): string
  end(): string
}

function utf8(): Decoder {
  // ignoreBOM: the BOM is handled above, so a second one would be kept as data, as it is.
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  return {
    write: (bytes) => decoder.decode(bytes, { stream: true }),
    end: () => decoder.decode(),
  }
}

function iconvDecoder(encoding: string): Decoder {
  const decoder = iconv.getDecoder(encoding)
  return {
    write: (bytes) => decoder.write(bytes),
    end: () => decoder.end() ?? '',
  }
}
