"""Rapport plug-in ``surveys``: surveys and pulses, anonymous by design, analysis HR can act on.

A survey's definition (:mod:`rapport_surveys.builder`) compiles to a standalone form document
— questions, sections, the forms' condition rules — so answers are validated by the forms
capability exactly as clients render them; five templates and a question library with driver
tags ship with it (:mod:`rapport_surveys.templates`). A campaign sends a survey to an audience
(:mod:`rapport_org.audience`) in waves (:mod:`rapport_surveys.waves`; recurring pulses get
their next wave from the job ``next_wave``); non-respondents are reminded through the
notification channels. Answers of anonymous campaigns are held and released in shuffled batches
(:mod:`rapport_surveys.responding`, ``rapport.plugins.held``), so nothing joins a response to
the participation record. Results, trends, comparisons, driver impact, heatmaps and comments are
computed in SQL with thresholds and complementary suppression (:mod:`rapport_surveys.analysis`,
:mod:`rapport_surveys.comments`); action plans link ``core/task`` records
(:mod:`rapport_surveys.plans`). The guarantees are written down in docs/surveys.md.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_surveys.hooks import SurveyHooks
from rapport_surveys.waves import next_wave_job

__all__ = ["plugin"]

plugin = PluginSpec(
    name="surveys",
    version="1.0.0",
    package=__name__,
    description="Surveys and pulses: builder on forms, anonymity by design, thresholded analysis.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=SurveyHooks(),
    jobs={"next_wave": next_wave_job},
)
