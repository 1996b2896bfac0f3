#!/usr/bin/env python3
# This file is part of OpenTYT.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Build modules/health_emr/data/commune_mapping_2025.csv: which commune
of 01/07/2025 each commune of the old three-level list became.

Source: the data of the vietnamadminunits package (version 1.0.4, MIT
licence, © 2025 Tran Ngoc Minh Hieu), files converter_2025.json and
parser_legacy.json, a compilation of the resolutions of the National
Assembly Standing Committee on the 2025 rearrangement of communes.  The
new commune of each row is looked up by name in the list the module loads
(vietnam-provinces, QĐ 19/2025/QĐ-TTg codes), never by the code of the
source (the two disagree on the codes of about a hundred communes).

Usage: build_commune_mapping.py DIR_OF_VIETNAMADMINUNITS_DATA > out.csv

Columns: old_province_code (2 digits, pre-2025), old_district, old_ward
(names with their type, e.g. "Huyện Lục Nam", "Xã Bảo Đài"; old_ward is
empty for island districts without communes), new_communes (the
5-digit codes of the new communes the old one went to, separated by a
space: more than one when the old commune was split)."""
import csv
import json
import sys
import unicodedata
from pathlib import Path

import vietnam_provinces


def fold(text):
    text = text.replace('đ', 'd').replace('Đ', 'D')
    return ''.join(c for c in unicodedata.normalize('NFD', text)
        if not unicodedata.combining(c) and c.isalnum()).lower()


def main(folder):
    folder = Path(folder)
    converter = json.loads((folder / 'converter_2025.json').read_text())
    legacy = json.loads((folder / 'parser_legacy.json').read_text())
    new = json.loads((folder / 'parser_from_2025.json').read_text())
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH,
            encoding='utf-8') as file:
        official = json.load(file)
    by_name = {}
    for province in official:
        for ward in province['wards']:
            by_name.setdefault(
                ('%02d' % province['code'], fold(ward['name'])), []).append(
                '%05d' % ward['code'])

    def new_code(province_key, ward_key):
        province = new['DICT_PROVINCE'][province_key]['provinceCode']
        for table in ['DICT_PROVINCE_WARD_NO_ACCENTED',
                'DICT_PROVINCE_WARD_ACCENTED']:
            ward = new[table].get(province_key, {}).get(ward_key)
            if ward:
                break
        codes = by_name.get((province, fold(ward['ward'])), [])
        if len(codes) != 1:
            # Same name without diacritics twice in a province: keep the
            # code of the source only if the official list agrees
            return ward['wardCode'] if ward['wardCode'] in codes else None
        return codes[0]

    targets = {}
    for province_key, wards in converter[
            'DICT_PROVINCE_WARD_NO_DIVIDED'].items():
        for ward_key, olds in wards.items():
            for old in olds:
                targets.setdefault(old, set()).add(
                    new_code(province_key, ward_key))
    for province_key, olds in converter['DICT_PROVINCE_WARD_DIVIDED'].items():
        for old, wards in olds.items():
            for ward in wards:
                targets.setdefault(old, set()).add(
                    new_code(province_key, ward['newWardKey']))

    rows = []
    for table in ['DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED',
            'DICT_PROVINCE_DISTRICT_WARD_ACCENTED']:
        for province_key, districts in legacy[table].items():
            province = legacy['DICT_PROVINCE'][province_key]['provinceCode']
            for district_key, wards in districts.items():
                district = legacy['DICT_PROVINCE_DISTRICT'][province_key][
                    district_key]['district']
                for ward_key, ward in wards.items():
                    if not isinstance(ward['ward'], str):
                        continue  # island district, below
                    codes = targets.get(
                        f'{province_key}_{district_key}_{ward_key}', set())
                    rows.append((province, district, ward['ward'],
                            ' '.join(sorted(c or '?' for c in codes))))
    # Island districts without communes
    for key, codes in targets.items():
        province_key, district_key, ward_key = key.split('_')
        if not ward_key:
            province = legacy['DICT_PROVINCE'][province_key]['provinceCode']
            district = legacy['DICT_PROVINCE_DISTRICT'][province_key][
                district_key]['district']
            rows.append((province, district, '', ' '.join(sorted(codes))))
    writer = csv.writer(sys.stdout, lineterminator='\n')
    writer.writerow(
        ['old_province_code', 'old_district', 'old_ward', 'new_communes'])
    for row in sorted(set(rows)):
        writer.writerow(row)


if __name__ == '__main__':
    main(sys.argv[1])
