"""A Great Expectations checkpoint action: GX's ``UpdateDataDocsAction`` that renders all the
checkpoint's results in one Data Docs build (the stock action builds the site, index included,
once per validation result, recompiling its templates each time: 7 builds for our 7 validations).
Imported lazily (it imports Great Expectations) and once: GX registers actions by ``type``."""

from __future__ import annotations

from typing import Literal

from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier


class UpdateDataDocsOnceAction(UpdateDataDocsAction):
    type: Literal["bdw_update_data_docs_once"] = "bdw_update_data_docs_once"

    def run(self, checkpoint_result, action_context=None) -> dict:
        identifiers: list = []
        for key, result in checkpoint_result.run_results.items():
            identifiers += [key, ExpectationSuiteIdentifier(name=result.suite_name)]
        self._build_data_docs(site_names=self.site_names, resource_identifiers=identifiers)
        return {
            key: {site["site_name"]: site["site_url"]
                  for site in self._get_docs_sites_urls(resource_identifier=key, site_names=self.site_names)}
            for key in checkpoint_result.run_results
        }
