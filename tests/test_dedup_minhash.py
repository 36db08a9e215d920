"""MinHash near-dedup: datasketch-identical signatures, LSH parameters and buckets, partitioned
connected components, and whole pipeline runs on real text (Python's own sources) with made
near-duplicates, Chinese near-duplicates, worker-count determinism and resume."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.dedup import components as CC
from corpuskit.dedup.lsh import bucket_edges, optimal_params
from corpuskit.dedup.minhash import MinHasher
from corpuskit.pipeline import Pipeline
from corpuskit.runner import run

STDLIB = Path(os.__file__).parent

ZH = [
    "人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。"
    "该领域的研究包括机器人、语言识别、图像识别、自然语言处理和专家系统等。人工智能从诞生以来，理论和技术日益成熟，"
    "应用领域也不断扩大，可以设想，未来人工智能带来的科技产品，将会是人类智慧的容器。",
    "长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉各拉丹冬峰西南侧。干流流经青海、西藏、四川、"
    "云南、重庆、湖北、湖南、江西、安徽、江苏、上海等省级行政区，在上海崇明岛以东注入东海。长江流域是中国经济最发达的"
    "区域之一，沿岸有许多重要的城市和港口。",
    "春节是中国最重要的传统节日，一般指除夕和正月初一。在传统的农耕社会，人们在春节期间举行各种活动，祭祀神佛、祭奠祖先、"
    "除旧布新、迎禧接福、祈求丰年。春节期间，人们会贴春联、放鞭炮、吃年夜饭、守岁、拜年，亲朋好友之间互相走访，"
    "表达美好的祝愿。随着时代的发展，春节的习俗也在不断变化。",
    "茶叶起源于中国，饮茶的习惯已有数千年的历史。中国的茶叶种类繁多，主要有绿茶、红茶、乌龙茶、白茶、黄茶和黑茶六大类。"
    "不同的茶叶有不同的制作工艺和口感特点。茶文化在中国有着深厚的底蕴，茶道、茶艺和茶馆都是中国传统文化的重要组成部分，"
    "并通过丝绸之路传播到世界各地。",
]


def stdlib_docs(n: int, min_words: int = 200, max_chars: int = 5000) -> list[str]:
    out = []
    for f in sorted(STDLIB.glob("*.py")):
        text = f.read_text(encoding="utf-8", errors="replace")[:max_chars]
        if len(text.split()) >= min_words and text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def edit_words(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    return " ".join("lorem" if w and rng.random() < rate else w for w in words)


def reorder_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    k = len(lines) // 2
    return "\n".join(lines[k:] + lines[:k])


def write_corpus(root: Path, seed: int = 7) -> dict[str, str]:
    """Distinct stdlib sources, near copies (word edits, swapped halves), Chinese near copies;
    returns id -> id of the original for every copy."""
    rng = random.Random(seed)
    base = stdlib_docs(60)
    records, truth = [], {}
    for i, text in enumerate(base):
        records.append({"id": f"doc{i:03d}", "text": text})
        if i % 3 == 0:
            records.append({"id": f"doc{i:03d}-edit", "text": edit_words(text, 0.004, rng)})
            truth[f"doc{i:03d}-edit"] = f"doc{i:03d}"
        if i % 4 == 0:
            records.append({"id": f"doc{i:03d}-swap", "text": reorder_lines(text, rng)})
            truth[f"doc{i:03d}-swap"] = f"doc{i:03d}"
    for i, text in enumerate(ZH):
        records.append({"id": f"zh{i}", "text": text})
    # Chinese near copies: a few characters changed, a clause appended
    records.append({"id": "zh0-edit", "text": ZH[0].replace("机器人", "机械人") + "此外。"})
    records.append({"id": "zh2-edit", "text": ZH[2].replace("鞭炮", "烟花")})
    truth["zh0-edit"] = "zh0"
    truth["zh2-edit"] = "zh2"
    rng.shuffle(records)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(4):
        with open(root / f"part-{k}.jsonl", "w", encoding="utf-8") as fh:
            for r in records[k::4]:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return truth


def run_dedup(inp: Path, out: Path, workers: int = 1, **params) -> dict:
    cfg = {"name": "t", "reader": {"type": "jsonl", "batch_size": 16},
           "steps": [{"minhash_dedup": params}], "writer": {"excluded": "all"}}
    return run(Pipeline.from_config(cfg), [str(inp)], out, workers=workers, show_progress=False)


def kept(out: Path) -> pa.Table:
    return pq.read_table(sorted((out / "data").glob("*.parquet"))).sort_by("id")


# ---------------------------------------------------------------------------------------------
# signatures and LSH
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme,hashname", [("affine32", "tok32"), ("affine32", "sha1_32"), ("affine32", "xxh32"),
                                             ("affine64", "tok64"), ("affine64", "sha1_64"), ("affine64", "xxh64"),
                                             ("legacy", "sha1_32"), ("legacy", "tok32")])
def test_signatures_identical_to_datasketch(scheme, hashname):
    from datasketch import LeanMinHash, MinHash

    texts = stdlib_docs(6, max_chars=3000) + ZH[:2] + ["Ünïcödé ÉCOLE ﬁnance ＡＢＣ déjà-vu", "tiny", ""]
    mh = MinHasher(ngram=5, num_perm=64, seed=42, scheme=scheme, hash=hashname)
    sig, counts = mh.signatures(pa.array(texts, pa.large_string()))
    for i, text in enumerate(texts):
        shingles = mh.shingles(text)
        assert len(shingles) == counts[i]
        ref = MinHash(**mh.datasketch_kwargs())
        ref.update_batch(shingles)
        assert np.array_equal(ref.hashvalues.astype(np.uint64), sig[i].astype(np.uint64)), (scheme, hashname, i)
        if shingles:
            assert LeanMinHash(ref).jaccard(mh.to_datasketch(sig[i])) == 1.0


def test_chinese_is_shingled_by_characters():
    mh = MinHasher(ngram=3)
    assert mh.shingles("长江是中国") == ["长 江 是".encode(), "江 是 中".encode(), "是 中 国".encode()]
    # mixed scripts: Latin words stay words
    assert mh.shingles("Python 是语言") == ["python 是 语".encode(), "是 语 言".encode()]


@pytest.mark.parametrize("threshold,num_perm,weights", [(0.8, 128, (0.5, 0.5)), (0.5, 128, (0.5, 0.5)),
                                                        (0.9, 256, (0.5, 0.5)), (0.8, 128, (0.05, 0.95))])
def test_lsh_params_equal_datasketch(threshold, num_perm, weights):
    from datasketch import MinHashLSH

    from corpuskit.dedup.minhash_dedup import MinHashDedup

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
    assert optimal_params(threshold, num_perm, *weights) == (lsh.b, lsh.r)
    # the stage resolves them once, into its config, so workers never redo the optimisation
    step = MinHashDedup(threshold=threshold, num_perm=num_perm, weights=weights)
    assert (step.params.bands, step.params.rows) == (lsh.b, lsh.r)
    assert step.config()["minhash_dedup"]["bands"] == lsh.b


def test_band_buckets_find_every_datasketch_candidate():
    """Every pair datasketch's MinHashLSH returns for our signatures is linked by our buckets."""
    from datasketch import MinHashLSH

    from corpuskit.dedup import kernels as K

    rng = random.Random(3)
    base = stdlib_docs(40, max_chars=2500)
    texts = base + [edit_words(t, 0.004, rng) for t in base[:20]]
    mh = MinHasher(num_perm=128)
    sig, _ = mh.signatures(pa.array(texts, pa.large_string()))
    b, r = optimal_params(0.8, 128)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for i, s in enumerate(sig):
        lsh.insert(i, mh.to_datasketch(s))
    expected = {(i, j) for i, s in enumerate(sig) for j in lsh.query(mh.to_datasketch(s)) if i < j}
    assert len(expected) >= 15
    keys = K.band_keys(sig, b, r)
    u, v = bucket_edges(keys.ravel(), np.repeat(np.arange(len(sig), dtype=np.uint64), b), chain=False)
    nodes, labels = CC.components_in_memory(u, v)
    label = dict(zip(nodes.tolist(), labels.tolist()))
    for i, j in expected:
        assert label.get(i) is not None and label.get(i) == label.get(j)


@pytest.mark.parametrize("q", [1, 3])
def test_partitioned_components_match_in_memory(tmp_path, q):
    rng = np.random.default_rng(5)
    # chains, stars and random sparse links over 400 nodes
    u = rng.integers(0, 400, 300).astype(np.uint64)
    v = rng.integers(0, 400, 300).astype(np.uint64)
    chain = np.arange(500, 560, dtype=np.uint64)
    u = np.concatenate([u, chain[:-1]])
    v = np.concatenate([v, chain[1:]])
    keep = u != v
    u, v = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
    expected_nodes, expected = CC.components_in_memory(u, v)

    uu, vv = np.concatenate([u, v]), np.concatenate([v, u])
    from corpuskit.dedup.store import partition_of

    inputs = {i: (uu[partition_of(uu, q) == i], vv[partition_of(uu, q) == i]) for i in range(q)}
    prev = None
    for r in range(40):
        res = [CC.large_star(*inputs[i], tmp_path / f"ls{r}", i, q) for i in range(q)]
        chk = CC.checksum_sum(res, "checksum_in")
        if prev is not None and prev == (chk, chk):
            break
        ss = [CC.small_star(*CC.read_edges(CC.files_to(tmp_path / f"ls{r}", i)), tmp_path / f"ss{r}", i, q)
              for i in range(q)]
        prev = (chk, CC.checksum_sum(ss, "checksum_ls_out"))
        inputs = {i: CC.read_edges(CC.files_to(tmp_path / f"ss{r}", i)) for i in range(q)}
    else:
        pytest.fail("did not converge")
    leaf, root = CC.read_edges(sorted((tmp_path / f"ls{r}").glob("to*/*.bin")))
    got = dict(zip(leaf.tolist(), root.tolist()))
    for node, comp in zip(expected_nodes.tolist(), expected.tolist()):
        assert got.get(node, node) == comp


# ---------------------------------------------------------------------------------------------
# the stage in a pipeline
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("neardup")
    truth = write_corpus(root / "in")
    return root, truth


@pytest.fixture(scope="module")
def one_worker(corpus):
    root, truth = corpus
    out = root / "out1"
    summary = run_dedup(root / "in", out, workers=1, partitions=5, edges_per_partition=4)
    return out, summary


def test_near_duplicates_removed_and_clusters_recorded(corpus, one_worker):
    _, truth = corpus
    out, summary = one_worker
    table = kept(out)
    ids = set(table.column("id").to_pylist())
    n_in = summary["records_in"]
    groups: dict[str, set[str]] = {}
    for copy, orig in truth.items():
        groups.setdefault(orig, {orig}).add(copy)
    assert summary["duplicates"] == sum(len(g) - 1 for g in groups.values())
    assert summary["balanced"] and summary["docs_out"] + summary["duplicates"] == n_in
    cl = dict(zip(table.column("id").to_pylist(), table.column("minhash_cluster").to_pylist()))
    size = dict(zip(table.column("id").to_pylist(), table.column("minhash_cluster_size").to_pylist()))
    for orig, members in groups.items():
        survivors = members & ids
        assert len(survivors) == 1, f"group of {orig}: kept {survivors}"
        survivor = survivors.pop()
        assert cl[survivor] == survivor and size[survivor] == len(members)
    singles = [i for i in ids if i not in truth and i not in truth.values()]
    assert singles and all(size[i] == 1 and cl[i] == i for i in singles)
    excluded = pq.read_table(sorted((out / "excluded").glob("*-s1.parquet")))
    assert set(excluded.column("reason").to_pylist()) == {"duplicate"}
    stages = summary["stages"]["minhash_dedup"]
    # verify: jaccard (default) weighs misses 19x more than false candidates
    assert (stages["bucket"]["lsh_bands"], stages["bucket"]["lsh_rows"]) == optimal_params(0.8, 128, 0.05, 0.95)
    assert stages["clusters"]["tasks"] > 1  # components ran partitioned


def test_same_kept_set_with_two_workers(corpus, one_worker, tmp_path):
    root, _ = corpus
    out1, s1 = one_worker
    s2 = run_dedup(root / "in", tmp_path / "out2", workers=2, partitions=5, edges_per_partition=4)
    t1, t2 = kept(out1), kept(tmp_path / "out2")
    assert t1.column("id").to_pylist() == t2.column("id").to_pylist()
    assert t1.column("minhash_cluster").to_pylist() == t2.column("minhash_cluster").to_pylist()
    assert s1["duplicates"] == s2["duplicates"]


def test_datasketch_backend_and_keep_longest(corpus, one_worker, tmp_path):
    root, truth = corpus
    out1, _ = one_worker
    run_dedup(root / "in", tmp_path / "ds", backend="datasketch")
    assert kept(out1).column("id").to_pylist() == kept(tmp_path / "ds").column("id").to_pylist()
    run_dedup(root / "in", tmp_path / "long", keep="longest", verify="jaccard")
    t = kept(tmp_path / "long")
    ids = set(t.column("id").to_pylist())
    assert "zh0-edit" in ids and "zh0" not in ids  # the edited copy is longer (a clause was appended)
    for orig in set(truth.values()):
        members = {orig} | {c for c, o in truth.items() if o == orig}
        assert len(members & ids) == 1


def test_resume_after_kill_gives_same_result(corpus, one_worker, tmp_path):
    root, _ = corpus
    out1, _ = one_worker
    out = tmp_path / "resume"
    cfg = {"name": "t", "reader": {"type": "jsonl", "batch_size": 16},
           "steps": [{"minhash_dedup": {"partitions": 5, "edges_per_partition": 4}}],
           "writer": {"excluded": "all", "keep_intermediate": True}}
    run(Pipeline.from_config(cfg), [str(root / "in")], out, workers=1, show_progress=False)
    # simulate a kill during the clusters phase: its markers, the final segment and stats are gone
    markers = out / "_work" / "markers"
    for m in list((markers / "minhash_dedup").glob("clusters-*.json"))[1:]:
        m.unlink()
    shutil.rmtree(markers / "seg1")
    shutil.rmtree(out / "data")
    (out / "stats.json").unlink()
    run_file = out / "_work" / "run.json"
    meta = json.loads(run_file.read_text())
    meta["complete"] = False
    run_file.write_text(json.dumps(meta))
    summary = run(Pipeline.from_config(cfg), [str(root / "in")], out, workers=1, show_progress=False)
    assert summary.get("resumed") != "already complete"
    assert kept(out).column("id").to_pylist() == kept(out1).column("id").to_pylist()
