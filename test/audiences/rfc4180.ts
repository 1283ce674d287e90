// A strict RFC 4180 parser written for the tests (independent of the exporter): CRLF records, quoted fields, "" escapes.

export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  if (text === '') return records;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`bare quote in unquoted field at ${i}`);
          field += text[i++];
        }
      }
      record.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      }
      if (i >= text.length) break;
      throw new Error(`expected , or CRLF at ${i}, found ${JSON.stringify(text[i])}`);
    }
    records.push(record);
  }
  const width = records[0]?.length;
  for (const [n, r] of records.entries()) if (r.length !== width) throw new Error(`record ${n} has ${r.length} fields, header has ${width}`);
  return records;
}
