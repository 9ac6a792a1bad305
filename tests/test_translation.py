"""Translated relays (clustering/translation.py): passage alignment, the stage on a real database with
the real multilingual model, and the `translation` spread edge."""
import json
import sqlite3

import numpy as np
import pytest

from clustering.embedding.use_onnx import onnx_path
from clustering.translation import align, is_translation
from tests.conftest import run_cli


def _unit(rng, n, d=16):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_alignment_counts_the_shorter_articles_passages():
    rng = np.random.default_rng(0)
    src = _unit(rng, 6)
    noise = _unit(rng, 6) * 0.3
    relay = src[[0, 2, 4]] + noise[:3]
    relay = np.vstack([relay / np.linalg.norm(relay, axis=1, keepdims=True), _unit(rng, 2)])  # 3 translated + 2 own
    a = align(relay, src)
    assert a.matched == 3 and a.share == pytest.approx(3 / 5) and is_translation(a)
    assert a.coverage == pytest.approx(3 / 6)  # of the longer article: a partial relay, no stance passed on
    assert [p[:2] for p in sorted(a.pairs)] == [(0, 0), (1, 2), (2, 4)]
    assert align(src, relay).matched == 3  # the same pair seen from the other side
    other = align(_unit(rng, 5), src)
    assert other.matched == 0 and not is_translation(other)
    assert not is_translation(align(relay[:1], src))  # one passage is a quote, not a translation


def test_candidates_are_other_languages_within_the_window_only(tmp_path):
    """The stage's time index: another language, within WINDOW_DAYS either side, never the article
    itself; a monolingual database has no candidate at all (no vector read)."""
    from clustering.translation import WINDOW_DAYS, _TimeIndex
    from db import open_db
    from db.store import ensure_outlet, insert_articles

    db = open_db(tmp_path / "t.db")
    ensure_outlet(db, "o", "http://127.0.0.1/")
    days = [0, 3, WINDOW_DAYS - 1, WINDOW_DAYS + 2, 1, -WINDOW_DAYS]
    langs = ["en", "ru", "ru", "ru", "en-GB", "de"]
    with db.conn:
        ids = insert_articles(db, [{"url": f"http://127.0.0.1/{i}", "outlet": "o", "text": "x", "language": lang,
                                    "published_at": f"2026-05-{15 + d:02.0f}T12:00:00Z"}
                                   for i, (d, lang) in enumerate(zip(days, langs))])
        db["embeddings"].insert_all({"article_id": a, "model_id": "m", "dim": 2,
                                     "vector": np.array([1, 0], np.float32).tobytes()} for a in ids)
    index = _TimeIndex(db, "m")
    t0 = db.execute("SELECT julianday(published_at) FROM articles WHERE id = ?", [ids[0]]).fetchone()[0]
    assert [o[0] for o in index.others(db, ids[0], "en", t0)] == [ids[1], ids[2], ids[5]]
    assert index.others(db, ids[0], "en", None) == []
    with db.conn:
        db.execute("UPDATE articles SET language = 'en'")
    assert _TimeIndex(db, "m").others(db, ids[0], "en", t0) == []


def test_sentences_decide_where_passages_fall_short_and_only_then():
    from clustering.translation import SENTENCE_GATE, translation_between

    rng = np.random.default_rng(1)
    src = _unit(rng, 4, 64)
    other = _unit(rng, 1, 64)[0]
    other -= (other @ src[0]) * src[0]
    near = src[0] * 0.62 + other / np.linalg.norm(other) * np.sqrt(1 - 0.62 ** 2)  # cosine 0.62 to one passage
    mine = np.vstack([near / np.linalg.norm(near), _unit(rng, 3, 64)])
    assert (mine @ src.T).max() >= SENTENCE_GATE
    sents = _unit(rng, 6, 64)
    calls = []

    def sentence_vectors(translated=True):
        calls.append(1)
        theirs = sents if translated else _unit(rng, 6, 64)
        return (sents, [f"s{i}" for i in range(6)]), (theirs, [f"t{i}" for i in range(6)])

    a, unit = translation_between(mine, src, sentence_vectors)
    assert unit == "sentence" and a.matched == 6 and calls == [1]
    assert translation_between(mine, src, lambda: sentence_vectors(False)) == (None, "")
    calls.clear()
    assert translation_between(_unit(rng, 4, 64), src, sentence_vectors) == (None, "") and calls == []  # nothing near


# written for this test: an English report and its Russian translation, and an unrelated Russian one
EN_TITLE = "Port workers in Selmar vote to end the ten-day strike"
EN = """Dock workers at the port of Selmar voted on Tuesday to end a ten-day strike that had left more than forty ships waiting at anchor.

The union said 71 percent of its members accepted the new offer, which raises wages by nine percent over two years and limits night shifts.

The port authority said loading would resume on Wednesday morning and that the backlog of containers should be cleared within a week.

Exporters of fruit and timber had warned that the strike was costing them millions of euros a day in lost contracts and spoiled goods.

The transport minister welcomed the agreement and said the government would review safety rules at the container terminal next year.

Several younger workers said they had voted against the deal because it did nothing about temporary contracts."""
RU_TITLE = "Портовики Сельмара проголосовали за прекращение десятидневной забастовки"
RU = """Докеры порта Сельмар во вторник проголосовали за прекращение десятидневной забастовки, из-за которой более сорока судов стояли на якоре в ожидании.

Профсоюз сообщил, что 71 процент его членов принял новое предложение, которое повышает зарплаты на девять процентов за два года и ограничивает ночные смены.

Администрация порта заявила, что погрузка возобновится в среду утром, а скопившиеся контейнеры должны быть вывезены в течение недели.

Экспортёры фруктов и древесины предупреждали, что забастовка обходится им в миллионы евро в день из-за сорванных контрактов и испорченных товаров.

Министр транспорта приветствовал соглашение и сказал, что в следующем году правительство пересмотрит правила безопасности на контейнерном терминале.

Несколько молодых рабочих сказали, что голосовали против сделки, потому что она никак не решает проблему временных контрактов."""
RU_OTHER_TITLE = "В Тарвеле открылась выставка старинных карт"
RU_OTHER = """В городском музее Тарвеля в субботу открылась выставка старинных морских карт, собранных местными коллекционерами.

Среди экспонатов есть карта побережья семнадцатого века, которую реставраторы восстанавливали почти два года.

Организаторы рассчитывают, что за лето выставку посетят не менее двадцати тысяч человек, в том числе школьные группы.

Вход для детей до двенадцати лет будет бесплатным, а по выходным в залах пройдут экскурсии на трёх языках."""


@pytest.mark.skipif(not onnx_path().is_file(), reason="USE multilingual model not installed: run `make install`")
def test_a_russian_translation_gets_a_translation_edge_and_an_unrelated_article_none(tmp_path):
    rows = [
        {"url": "https://selmar-news.example/strike", "outlet": "selmar-news", "title": EN_TITLE, "text": EN,
         "language": "en", "published_at": "2026-05-05T09:00:00+00:00"},
        {"url": "https://vesti.example/zabastovka", "outlet": "vesti-ru", "title": RU_TITLE, "text": RU,
         "language": "ru", "published_at": "2026-05-05T15:30:00+00:00"},
        {"url": "https://vesti.example/karty", "outlet": "vesti-ru", "title": RU_OTHER_TITLE, "text": RU_OTHER,
         "language": "ru", "published_at": "2026-05-05T12:00:00+00:00"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    db = tmp_path / "t.db"
    assert run_cli("import", db, src).returncode == 0
    r = run_cli("process", db, "--model", "use-multilingual-v3")
    assert r.returncode == 0, r.stderr
    assert "translations: 1 pairs" in r.stdout, r.stdout
    conn = sqlite3.connect(db)
    found = conn.execute("SELECT article_id, source_article_id, matched, share, evidence, coverage "
                         "FROM translations").fetchall()
    assert [(a, s) for a, s, *_ in found] == [(2, 1)]  # the later, Russian article translates the English one
    matched, share, evidence, coverage = found[0][2:]
    assert matched >= 3 and share == 1.0  # every body passage aligned
    assert coverage >= 0.7  # of both: a full translation, through which a stance judge may read it
    best = json.loads(evidence)[0]  # the translated passage, its source passage, their cosine
    flat = lambda text: " ".join(text.split())  # noqa: E731 (passages join paragraphs with a space)
    assert best["passage"] in flat(RU) and best["source_passage"] in flat(EN) and best["cosine"] >= 0.7
    # the two articles are one event; its spread has the translation edge, with its evidence
    event = conn.execute("SELECT event_id FROM event_memberships WHERE article_id = 1").fetchone()[0]
    assert conn.execute("SELECT event_id FROM event_memberships WHERE article_id = 2").fetchone()[0] == event
    r = run_cli("spread", db, event, "--kind", "event", "--json")
    assert r.returncode == 0, r.stderr
    edges = [e for e in json.loads(r.stdout)["edges"] if e["edge_kind"] == "translation"]
    assert [(e["from_outlet"], e["to_outlet"]) for e in edges] == [("selmar-news", "vesti-ru")]
    assert edges[0]["evidence"][0]["languages"] == "en->ru" and edges[0]["lag_hours"] == pytest.approx(6.5)
    r = run_cli("spread", db, event, "--kind", "event")
    assert "translation en->ru" in r.stdout, r.stdout
    # incremental: a second run checks nothing again
    r = run_cli("process", db, "--model", "use-multilingual-v3")
    assert r.returncode == 0 and conn.execute("SELECT count(*) FROM translations").fetchone()[0] == 1
