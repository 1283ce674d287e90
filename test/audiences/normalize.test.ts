import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { normalizeEmail } from '../../collector/audiences/normalize-email.js';
import { normalizeNameForGoogle, normalizeNameForMeta, normalizePlainText } from '../../collector/audiences/normalize-name.js';
import { toE164 } from '../../collector/audiences/normalize-phone.js';
import { normalizeCountry } from '../../collector/audiences/normalize-country.js';
import { normalizeCity, normalizeState, normalizeZipForGoogle, normalizeZipForMeta } from '../../collector/audiences/normalize-address.js';
import { hashValue } from '../../collector/audiences/hash-value.js';

// Independent of our code: node:crypto over the literal normalized string.
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('email normalization', () => {
  test.each([
    ['  John.Smith@Example.COM ', 'john.smith@example.com'],
    ['JOHN.SMITH@EXAMPLE.COM', 'john.smith@example.com'],
    ['john. smith@example.com', 'john.smith@example.com'],
    ['Jane.Doe+news@GMAIL.com', 'jane.doe+news@gmail.com'],
    ['Marta\u00AD.Nowak\u200B@Firma.PL', 'marta.nowak@firma.pl'], // soft hyphen and zero-width space pasted in
    ['not an email', ''],
    ['a@b@c', ''],
    ['', ''],
  ])('%j normalizes to %j', (raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected);
  });
});

describe('phone normalization to E.164', () => {
  test.each([
    ['(650) 555-1234', 'US', '+16505551234'],
    ['650.555.1234', 'US', '+16505551234'],
    ['1-650-555-1234', 'US', '+16505551234'],
    ['+1 650 555 1234', '', '+16505551234'],
    ['650 555 1234 ext. 22', 'US', '+16505551234'],
    ['011 44 20 7946 0958', 'US', '+442079460958'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 (0)20 7946 0958', '', '+442079460958'],
    ['0044 20 7946 0958', '', '+442079460958'],
    ['030 1234567', 'DE', '+49301234567'],
    ['06 1234 5678', 'IT', '+390612345678'],
    ['8 495 123 45 67', 'RU', '+74951234567'],
    ['０９０－１２３４－５６７８', 'JP', '+819012345678'], // full-width, as a Japanese IME types it
    ['＋８１ ３ １２３４ ５６７８', '', '+81312345678'],
    ['(11) 91234-5678', 'BR', '+5511912345678'],
    ['+49 030 1234567', '', '+49301234567'], // a trunk 0 typed after the country code
    ['+44 020 7946 0958', '', '+442079460958'],
    ['+39 06 1234 5678', '', '+390612345678'], // Italy keeps it
    ['07 12 34 56 78', 'CI', '+2250712345678'], // Côte d'Ivoire too, since 2021
    ['0532 123 45 67', 'TR', '+905321234567'],
    ['650 555 1234', '', ''],
    ['+1 650 555', '', ''],
    ['12', 'US', ''],
    ['', 'US', ''],
    ['call me', 'US', ''],
  ])('%j with country %j becomes %j', (raw, country, expected) => {
    expect(toE164(raw, country)).toBe(expected);
  });
});

describe('name normalization', () => {
  test.each([
    ['  Mary Ann ', 'maryann', 'mary ann'],
    ["O'Brien-Smith", 'obriensmith', 'obriensmith'],
    ['JOHN', 'john', 'john'],
    ['José', 'josé', 'josé'],
    ['Jose\u0301', 'josé', 'josé'], // decomposed input hashes like the composed one
    ['Dr. Who!', 'drwho', 'dr who'],
    ['', '', ''],
  ])('%j becomes %j for Google and %j for Meta', (raw, google, meta) => {
    expect(normalizeNameForGoogle(raw)).toBe(google);
    expect(normalizeNameForMeta(raw)).toBe(meta);
  });

  test('LinkedIn text fields stay readable and are cut to the field limit', () => {
    expect(normalizePlainText('  Head of   Growth ', 50)).toBe('Head of Growth');
    expect(normalizePlainText('x'.repeat(40), 35)).toHaveLength(35);
  });
});

describe('location normalization', () => {
  test.each([
    [' us ', 'US'],
    ['U.S.', 'US'],
    ['gb', 'GB'],
    ['UK', 'GB'],
    ['Germany', 'DE'],
    ['Deutschland', 'DE'],
    ['  deutschland ', 'DE'],
    ['Allemagne', 'DE'],
    ['United Kingdom', 'GB'],
    ['Great Britain', 'GB'],
    ['Türkiye', 'TR'],
    ['Turkiye', 'TR'],
    ['Turkey', 'TR'],
    ['Polska', 'PL'],
    ['Brasil', 'BR'],
    ['日本', 'JP'],
    ['ドイツ', 'DE'],
    ['ＪＰ', 'JP'], // full-width, as a Japanese IME types it
    ['Korea', ''], // North or South: never guessed
    ['Großbritannien', 'GB'],
    ['Hong Kong', 'HK'],
    ['Atlantis', ''],
    ['ZZ', ''],
    ['', ''],
  ])('country %j becomes %j', (raw, expected) => {
    expect(normalizeCountry(raw)).toBe(expected);
  });

  test.each([
    ['St. Louis', 'stlouis'],
    ['New York', 'newyork'],
    ['São Paulo', 'sãopaulo'],
  ])('Meta city %j becomes %j', (raw, expected) => {
    expect(normalizeCity(raw)).toBe(expected);
  });

  test.each([
    ['California', 'US', 'ca'],
    ['CA', 'US', 'ca'],
    ['N.Y.', 'US', 'ny'],
    ['new york', '', 'ny'],
    ['Île-de-France', 'FR', 'îledefrance'],
  ])('Meta state %j in %j becomes %j', (raw, country, expected) => {
    expect(normalizeState(raw, country)).toBe(expected);
  });

  test.each([
    ['94043-1234', 'US', '94043', '94043'],
    ['94043', '', '94043', '94043'],
    ['SW1A 1AA', 'GB', 'sw1a1aa', 'SW1A 1AA'],
    ['sw1a  1aa', 'GB', 'sw1a1aa', 'SW1A 1AA'],
    ['abc', 'US', '', ''],
    ['１００－０００１', 'JP', '1000001', '100-0001'], // full-width, as a Japanese IME types it
    ['00-950', 'PL', '00950', '00-950'],
    ['K1A 0B1', 'CA', 'k1a0b1', 'K1A 0B1'],
    ['k1a0b1', 'CA', 'k1a0b1', 'K1A 0B1'], // the post's spelling, with its one space
    ['sw1a1aa', 'GB', 'sw1a1aa', 'SW1A 1AA'],
    ['ec1a-1bb', 'GB', 'ec1a1bb', 'EC1A 1BB'],
    ['D-10115', 'DE', '10115', '10115'], // country letters written before the code
    ['CH-8001', 'CH', '8001', '8001'],
    ['D-10115', 'AT', 'd10115', 'D-10115'], // not the lead's country's letters: kept
  ])('zip %j in %j becomes %j for Meta and %j for Google', (raw, country, meta, google) => {
    expect(normalizeZipForMeta(raw, country)).toBe(meta);
    expect(normalizeZipForGoogle(raw, country)).toBe(google);
  });
});

describe('SHA-256 vectors', () => {
  // Normalized string → SHA-256 hex, computed outside the project (sha256sum) and checked again with node:crypto.
  const VECTORS: Array<[string, string]> = [
    ['john.smith@example.com', '8e621e3d0368631d263d07a351fa8d34fba0d17c15fbcdec11a5f58008d022a0'],
    ['+16505551234', 'a2996076d3ad4af5dc818b908b3d8e354f26ededf7df0e0aa6ac354143805ee0'],
    ['16505551234', '6069d14bf122fdfd931dc7beb58e5dfbba395b1faf05bdcd42d12358d63d8599'],
    ['john', '96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a'],
    ['smith', '6627835f988e2c5e50533d491163072d3f4f41f5c8b04630150debb3722ca2dd'],
    ['maryann', '16b3f07f0ec2f9dd127b71dc2e6c791b7d93116a1c3bc99d057eaa7a8a077e73'],
    ['mary ann', '343b97011010c3549fe7fcd6c226ed9431ea37b0b77ed78f6300a0098925faf1'],
    ['stlouis', '8ba24bdf99947996f3000259be455de791b06fcc0e802ce05031030df1ee8ea3'],
    ['ca', '6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126'],
    ['94043', '1b10e5e0b47cefad5c4f6c1d10b8b6fbbd5af9756eb01ed5c8ee1f588b65947b'],
    ['us', '79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621'],
    ['josé', 'd994e1d001886fe5b45b1267bd1fa2b752ac50742579bd3dad7b2a2aa0ed6866'],
  ];

  test.each(VECTORS)('%j hashes to %s', (normalized, hex) => {
    expect(sha256(normalized)).toBe(hex);
    expect(hashValue(normalized)).toBe(hex);
  });

  test('an empty value stays empty instead of becoming the hash of the empty string', () => {
    expect(hashValue('')).toBe('');
  });
});
