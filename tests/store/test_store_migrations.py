"""Schema migrations: a database made at revision 0001 upgrades in place on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from configs import configuration
from sqlalchemy import inspect, text

from octsearch.cli.main import main
from octsearch.errors import StoreError
from octsearch.pareto import non_dominated
from octsearch.store import migrate, open_store
from octsearch.store.types import JSONField
from octsearch.store.urls import make_engine, resolve_url

SEARCHES = sa.table(
    "octsearch_searches",
    *(sa.column(c) for c in ("name", "space_text", "space_hash", "model_name", "sampler", "seed",
                             "octsearch_version", "created_at", "status", "reference_accuracy", "reference_flops")),
    sa.column("model_args", JSONField()), sa.column("objectives", JSONField()), sa.column("sampler_args", JSONField()),
)
TRIALS = sa.table(
    "octsearch_trials",
    *(sa.column(c) for c in ("search_id", "number", "config_key", "flops_paper", "flops_all", "params_count",
                             "status", "accuracy", "accuracy_stderr", "n_evals", "is_uniform")),
    sa.column("alphas", JSONField()), sa.column("config", JSONField()),
)
POINTS = [(0.90, 30), (0.92, 40), (0.85, 35), (0.95, 60), (0.80, 20), (0.93, 60)]


def make_old_database(url: str) -> None:
    """A database as octsearch at schema 0001 left it, with one search and six trials."""
    from datetime import datetime, timezone

    engine = make_engine(resolve_url(url))
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(SEARCHES.insert(), [dict(
            name="old", space_text="x", space_hash="h", model_name="oct_resnet20", sampler="nsga2", seed=1,
            octsearch_version="0.0.9", created_at=datetime.now(timezone.utc), status="finished",
            reference_accuracy=0.1, reference_flops=100, model_args={"num_classes": 10}, objectives=["accuracy", "flops_paper"],
            sampler_args={})])
        search_id = conn.execute(text("SELECT id FROM octsearch_searches")).scalar()
        conn.execute(TRIALS.insert(), [
            dict(search_id=search_id, number=i, config_key=f"k{i}", flops_paper=f, flops_all=f, params_count=5,
                 status="complete", accuracy=a, accuracy_stderr=0.01, n_evals=1, is_uniform=False,
                 alphas={"a": i / 10}, config={})
            for i, (a, f) in enumerate(POINTS)
        ])
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == "0001"
        assert "on_front" not in {c["name"] for c in inspect(conn).get_columns("octsearch_trials")}
    engine.dispose()


def test_head_constant_matches_the_migration_scripts():
    assert migrate.HEAD == migrate.script_head()
    assert migrate.known_revisions() == ["0006", "0005", "0004", "0003", "0002", "0001"]


def test_an_old_database_upgrades_on_open_and_keeps_its_rows(store_url):
    make_old_database(store_url)
    with pytest.raises(StoreError, match="at schema revision 0001, not 0006; run `octsearch db upgrade"):
        open_store(store_url, upgrade=False)
    with open_store(store_url) as store:
        assert [t.number for t in store.trials("old")] == list(range(len(POINTS)))
        expected = {i for i in non_dominated(POINTS, ["max", "min"])}  # the backfill
        assert {t.number for t in store.front("old")} == expected == {0, 1, 3, 4}
        # and the flags are maintained from then on
        n = store.start_trial("old", configuration({"a": 0.99 - 0.01}, flops_paper=10, flops_all=10, param_count=5))
        store.record_evaluation("old", n, seed=0, accuracy=0.97, n_val=100)
        assert [t.number for t in store.front("old")] == [n]
    engine = make_engine(resolve_url(store_url))
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
        indexes = {i["name"] for i in inspect(conn).get_indexes("octsearch_trials")}
    engine.dispose()
    assert "ix_octsearch_trials_search_id_on_front" in indexes


EVALUATIONS = sa.table("octsearch_evaluations", *(sa.column(c) for c in (
    "trial_id", "seed", "budget", "accuracy", "n_val", "stderr", "created_at")))


def test_0004_keeps_one_configuration_value_and_real_statuses_and_every_evaluation(store_url):
    """Upgrading from 0003: each trial's configuration becomes one value (its cost included),
    failures recorded as "lost ..." or "interrupted ..." get those statuses, and on SQLite the
    table copy does not cascade away the evaluations."""
    from datetime import datetime, timezone

    make_old_database(store_url)
    engine = make_engine(resolve_url(store_url))
    migrate.upgrade(engine, "0003")
    errors = {1: "lost with its worker: node died", 2: "interrupted: the search stopped", 3: "boom"}
    with engine.begin() as conn:
        for number, error in errors.items():
            conn.execute(text("UPDATE octsearch_trials SET status = 'failed', error = :e WHERE number = :n"),
                         {"e": error, "n": number})
        cast = "CAST(:c AS JSON)" if conn.dialect.name == "postgresql" else ":c"
        conn.execute(text(f"UPDATE octsearch_trials SET config = {cast}, flops_all = NULL WHERE number = 5"),
                     {"c": '{"p": 0.5}'})
        ids = dict(conn.execute(text("SELECT number, id FROM octsearch_trials")).all())
        conn.execute(EVALUATIONS.insert(), [dict(trial_id=ids[n], seed=s, budget="proxy", accuracy=0.5, n_val=10,
                                                 stderr=0.1, created_at=datetime.now(timezone.utc))
                                            for n in ids for s in (0, 1)])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM octsearch_evaluations")).scalar() == 2 * len(POINTS)
        columns = {c["name"] for c in inspect(conn).get_columns("octsearch_trials")}
    assert {"configuration", "param_count"} <= columns and not {"alphas", "config", "params_count"} & columns
    with open_store(store_url) as store:
        trials = {t.number: t for t in store.trials("old")}
    assert {n: t.status for n, t in trials.items() if n in errors} == {1: "lost", 2: "interrupted", 3: "failed"}
    assert trials[1].error == errors[1]  # the message stays; the status now says what happened
    assert trials[0].configuration.to_json() == {
        "params": {}, "alphas": {"a": 0.0}, "cost": {"flops_paper": 30, "flops_all": 30, "param_count": 5}}
    assert trials[5].configuration.to_json() == {"params": {"p": 0.5}, "alphas": {"a": 0.5}}  # no cost: one count missing
    assert trials[5].flops_paper is None and len(store_evaluations(store_url)) == 2 * len(POINTS)
    migrate.downgrade(engine, "0003")  # and back: the old columns, filled again
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM octsearch_evaluations")).scalar() == 2 * len(POINTS)
        statuses = dict(conn.execute(text("SELECT number, status FROM octsearch_trials")).all())
    engine.dispose()
    assert statuses[1] == statuses[2] == "failed"


def test_0005_names_the_parameter_count_objective_param_count(store_url):
    """A search that minimised parameters listed the objective ``params`` before 0005."""
    make_old_database(store_url)
    engine = make_engine(resolve_url(store_url))
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(SEARCHES.update().values(objectives=["accuracy", "flops_paper", "params"]))
    migrate.upgrade(engine)
    with open_store(store_url) as store:
        assert store.get_search("old").objectives == ("accuracy", "flops_paper", "param_count")
        assert [t.param_count for t in store.trials("old")] == [5] * len(POINTS)
    migrate.downgrade(engine, "0004")
    with engine.connect() as conn:
        assert conn.execute(sa.select(SEARCHES.c.objectives)).scalar() == ["accuracy", "flops_paper", "params"]
    engine.dispose()


def test_0006_gives_trials_scored_only_at_other_budgets_the_status_scored(store_url):
    """Before 0006 a configuration scored only by a supernet (or a calibration rung) stayed
    ``running``; a running trial with a proxy evaluation, or with none, is a run in flight."""
    from datetime import datetime, timezone

    make_old_database(store_url)
    engine = make_engine(resolve_url(store_url))
    migrate.upgrade(engine, "0005")
    budgets = {0: ["supernet"], 1: ["supernet", "epochs=6"], 2: ["proxy", "supernet"], 3: []}
    with engine.begin() as conn:
        conn.execute(text("UPDATE octsearch_trials SET status = 'running' WHERE number IN (0, 1, 2, 3)"))
        ids = dict(conn.execute(text("SELECT number, id FROM octsearch_trials")).all())
        conn.execute(EVALUATIONS.insert(), [dict(trial_id=ids[n], seed=0, budget=b, accuracy=0.5, n_val=10,
                                                 stderr=0.1, created_at=datetime.now(timezone.utc))
                                            for n, bs in budgets.items() for b in bs])
    migrate.upgrade(engine)
    with open_store(store_url) as store:
        statuses = {t.number: t.status for t in store.trials("old")}
    assert statuses == {0: "scored", 1: "scored", 2: "running", 3: "running", 4: "complete", 5: "complete"}
    migrate.downgrade(engine, "0005")
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT number, status FROM octsearch_trials")).all())
    engine.dispose()
    assert [back[n] for n in range(4)] == ["running"] * 4


def store_evaluations(url: str) -> list:
    with open_store(url) as store:
        return store.evaluations("old")


def test_db_commands_upgrade_and_report_the_revision(store_url, capsys):
    make_old_database(store_url)
    assert main(["db", "current", "--db", store_url]) == 0
    assert "schema revision 0001 (newest is 0006: run `octsearch db upgrade`)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", store_url]) == 0
    assert "upgraded schema from revision 0001 to 0006" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", store_url]) == 0
    assert "already at the newest schema revision 0006" in capsys.readouterr().out
    assert main(["db", "current", "--db", store_url]) == 0
    assert "schema revision 0006 (newest)" in capsys.readouterr().out


def test_downgrade_and_upgrade_again(store_url):
    open_store(store_url).close()
    engine = make_engine(resolve_url(store_url))
    migrate.downgrade(engine, "0001")
    migrate.downgrade(engine, "base")
    with engine.connect() as conn:
        assert not inspect(conn).has_table("octsearch_trials")
    engine.dispose()
    open_store(store_url).close()


def test_a_database_from_a_newer_octsearch_is_refused(store_url):
    open_store(store_url).close()
    engine = make_engine(resolve_url(store_url))
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :v"), {"v": "0099"})
    engine.dispose()
    with pytest.raises(StoreError, match="at schema revision '0099', newer than this octsearch knows"):
        open_store(store_url)


def test_the_version_table_does_not_clash_with_optuna(store_url):
    """Optuna's RDB storage keeps `alembic_version` and a `trials` table: ours are prefixed, our
    history is in `octsearch_alembic_version`, and the two schemas upgrade and downgrade apart."""
    import warnings

    import optuna

    open_store(store_url).close()
    engine = make_engine(resolve_url(store_url))
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert tables == {"octsearch_alembic_version", "octsearch_searches", "octsearch_trials", "octsearch_evaluations"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        storage = optuna.storages.RDBStorage(resolve_url(store_url).render_as_string(hide_password=False))
    optuna.create_study(storage=storage, study_name="theirs").add_trial(
        optuna.trial.create_trial(value=1.0, params={}, distributions={}))
    engine = make_engine(resolve_url(store_url))
    with engine.connect() as conn:
        optuna_version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert {"studies", "trials", "alembic_version"} <= set(inspect(conn).get_table_names())
    migrate.downgrade(engine, "0001")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == optuna_version
    engine.dispose()
    assert len(optuna.load_study(study_name="theirs", storage=storage).trials) == 1
    _assert_models_match(store_url)  # Optuna's tables are not octsearch's to compare


def test_the_migrations_build_exactly_the_table_models(store_url):
    """Alembic's autogenerate finds nothing to add: models.py and the migrations agree."""
    open_store(store_url).close()
    _assert_models_match(store_url)


def _assert_models_match(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from octsearch.store.models import Base

    engine = make_engine(resolve_url(store_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": migrate.VERSION_TABLE,
                                                         "include_name": migrate.include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
