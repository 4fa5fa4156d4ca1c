"""The manager's commission plan editor: the plan in force as a form, a what-if of a draft
(the team's pay this month and projected at its end, under the plan in force and under the
draft, and what the team costs as a share of revenue) and saving it as a new version. Every
figure comes from the API (``GET``/``PUT /plan``, ``POST /plan/simulate``); the form only
reads numbers as the manager writes them (``views/plan_form.py``)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import panel as pn

from views import i18n
from views.api import ApiProblem
from views.dashboard import Session, html_pane
from views.plan_form import TIER_ROWS, FormError, PlanForm, form_of, plan_body

BASES = ("revenue", "margin")
MODES = ("progressive", "retroactive")


class PlanEditor:
    def __init__(self, session: Session, store_path: str) -> None:
        self.session = session
        self.path = f"{store_path}/plan"
        t = session.t
        self.plan_id = "padrao"
        self.effective_from = ""
        self.base_pay = pn.widgets.TextInput(name=t("plan.base_pay"), width=160)
        self._bases = {t(f"plan.basis.{b}"): b for b in BASES}
        self.basis = pn.widgets.Select(
            name=t("plan.basis_label"), options=list(self._bases), width=160
        )
        self._modes = {t(f"plan.mode.{m}"): m for m in MODES}
        self.mode = pn.widgets.Select(
            name=t("plan.mode_label"), options=list(self._modes), width=200
        )
        self.tiers = [
            (
                pn.widgets.TextInput(name=t("plan.tier_from", n=n + 1), width=140),
                pn.widgets.TextInput(name=t("plan.tier_rate", n=n + 1), width=110),
            )
            for n in range(TIER_ROWS)
        ]
        self.quota = pn.widgets.TextInput(name=t("plan.quota"), width=160)
        self.bonus = pn.widgets.TextInput(name=t("plan.bonus"), width=160)
        self.cap = pn.widgets.TextInput(name=t("plan.cap"), width=160)
        self.simulate_button = pn.widgets.Button(name=t("plan.simulate"), button_type="primary")
        self.save_button = pn.widgets.Button(name=t("plan.save"), button_type="success")
        self.result = html_pane("")
        self.simulate_button.on_click(lambda _: pn.state.execute(self.simulate))
        self.save_button.on_click(lambda _: pn.state.execute(self.save))
        wrap = {"flex_wrap": "wrap", "gap": "8px", "sizing_mode": "stretch_width"}
        self.panel = pn.Column(
            html_pane(f'<p class="note">{html.escape(t("plan.help"))}</p>'),
            pn.FlexBox(self.base_pay, self.basis, self.mode, **wrap),
            pn.FlexBox(*(w for pair in self.tiers for w in pair), **wrap),
            pn.FlexBox(self.quota, self.bonus, self.cap, **wrap),
            pn.Row(self.simulate_button, self.save_button),
            self.result,
            sizing_mode="stretch_width",
            css_classes=["plan-editor"],
        )

    async def load(self) -> None:
        answer = await self.session.api.get(self.path)
        plan = answer.get("in_force")
        today = str(answer["today"])
        self.effective_from = today[:8] + "01"
        if plan is not None:
            self.plan_id = plan["plan_id"]
        self._show(form_of(plan, self.session.locale))

    def _show(self, form: PlanForm) -> None:
        t = self.session.t
        self.base_pay.value = form.base_pay
        self.basis.value = t(f"plan.basis.{form.basis}")
        self.mode.value = t(f"plan.mode.{form.tier_mode}")
        for (threshold, rate), (from_input, rate_input) in zip(form.tiers, self.tiers, strict=True):
            from_input.value, rate_input.value = threshold, rate
        self.quota.value, self.bonus.value, self.cap.value = form.quota, form.bonus, form.cap

    def _body(self) -> dict[str, Any]:
        form = PlanForm(
            self.base_pay.value,
            self._bases[self.basis.value],
            self._modes[self.mode.value],
            tuple((a.value, b.value) for a, b in self.tiers),
            self.quota.value,
            self.bonus.value,
            self.cap.value,
        )
        return plan_body(form, self.plan_id, self.effective_from, self.session.locale)

    async def simulate(self) -> None:
        try:
            answer = await self.session.api.post(f"{self.path}/simulate", self._body())
        except FormError as error:
            self.result.object = self._refusal(self._field_words(error.field))
            return
        except ApiProblem as problem:
            self.result.object = self._refusal(problem.message)
            return
        self.result.object = self._what_if(answer)

    async def save(self) -> None:
        try:
            answer = await self.session.api.put(self.path, self._body())
        except FormError as error:
            self.result.object = self._refusal(self._field_words(error.field))
            return
        except ApiProblem as problem:
            self.result.object = self._refusal(problem.message)
            return
        saved = answer["saved"]
        words = self.session.t("plan.saved", version=saved["version"])
        self.result.object = (
            f'<p class="strong" id="plan-saved" data-version="{saved["version"]}">'
            f"{html.escape(words)}</p>"
        )

    def _field_words(self, field: str) -> str:
        """What the form could not read, in words (``tiers[1].rate``: the second tier)."""
        if field.startswith("tiers["):
            return self.session.t("plan.field.tier", n=int(field[6 : field.index("]")]) + 1)
        return self.session.t(f"plan.field.{field}")

    def _refusal(self, reason: str) -> str:
        words = self.session.t("plan.refused", reason=reason)
        return f'<p role="alert" class="weak" id="plan-refused">{html.escape(words)}</p>'

    def _what_if(self, answer: dict[str, Any]) -> str:
        """Each seller's pay at the month's end (or to date without a projection) under the
        plan in force and the draft, and the team's cost as a share of revenue."""
        t, locale = self.session.t, self.session.locale

        def end(side: dict[str, Any] | None) -> int | None:
            if side is None:
                return None
            projected = side.get("projected")
            return projected["total_cents"]["mid"] if projected else side["total_cents"]

        def cell(cents: int | None) -> str:
            return "—" if cents is None else html.escape(i18n.money(cents, locale))

        rows = []
        for row in answer["sellers"]:
            now, then = end(row["current"]), end(row["draft"])
            change = None if now is None or then is None else then - now
            rows.append(
                f'<tr data-seller="{html.escape(row["seller_id"])}" data-draft="{then}">'
                f"<th scope='row'>{html.escape(row['display_name'])}</th><td>{cell(now)}</td>"
                f"<td>{cell(then)}</td><td>{cell(change)}</td></tr>"
            )
        totals = answer.get("projected") or answer["totals"]
        shares = []
        for side in ("current", "draft"):
            cost = totals.get(side)
            share = cost.get("of_revenue") if cost else None
            shares.append(
                "—" if share is None else i18n.percent(Decimal(share), locale, decimals=2)
            )
        head = "".join(
            f'<th scope="col">{html.escape(t(key))}</th>'
            for key in ("plan.col.seller", "plan.col.current", "plan.col.draft", "plan.col.change")
        )
        cost = t("plan.cost", current=shares[0], draft=shares[1])
        return (
            f'<table class="glance" id="what-if"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            f'<p class="note" id="what-if-cost">{html.escape(cost)}</p>'
        )
