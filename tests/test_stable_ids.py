from clustering.stable_ids import match_ids


def kinds(lineage):
    return sorted((l.kind, l.from_id, l.to_id) for l in lineage)


def test_unchanged_clusters_keep_ids_and_change_nothing():
    old = {1: {1, 2, 3}, 2: {4, 5, 6}}
    ids, lineage = match_ids(old, [{4, 5, 6}, {1, 2, 3}], next_id=3)
    assert ids == [2, 1]
    assert kinds(lineage) == [("continued", 1, 1), ("continued", 2, 2)]


def test_growth_keeps_id_and_new_cluster_gets_new_id():
    old = {1: {1, 2, 3, 4}}
    ids, lineage = match_ids(old, [{1, 2, 3, 4, 10, 11}, {20, 21, 22}], next_id=2)
    assert ids == [1, 2]
    assert ("created", None, 2) in kinds(lineage)


def test_split_and_merge_are_recorded():
    old = {1: {1, 2, 3, 4, 5, 6}, 2: {7, 8, 9}, 3: {10, 11, 12}}
    new = [{1, 2, 3, 4}, {5, 6}, {7, 8, 9, 10, 11, 12}]
    ids, lineage = match_ids(old, new, next_id=4)
    assert ids == [1, 4, 2]
    assert ("split", 1, 4) in kinds(lineage)
    assert ("merged", 3, 2) in kinds(lineage)


def test_vanished_narrative_is_retired_and_deleted_articles_ignored():
    old = {1: {1, 2, 3}, 2: {50, 51}}  # articles 50, 51 no longer clustered anywhere
    ids, lineage = match_ids(old, [{1, 2}], next_id=3)
    assert ids == [1]
    assert ("retired", 2, None) in kinds(lineage)
