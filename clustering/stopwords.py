"""Function words left out of keywords beside scikit-learn's English list.

Russian: with the multilingual model a narrative can hold Russian articles (the demo's
moskovsky-telegraf), and their function words, rare in an English-heavy collection, would
otherwise top its c-TF-IDF keywords ("не / где / под"). Written for this project from common
Russian grammar words (pronouns, prepositions, conjunctions, particles, forms of "to be", reporting
verbs like English "said"); Cyrillic only, so no English word is touched. Latin-script languages
are not listed: their function words include English content words ("war", "die").
"""
from __future__ import annotations

RUSSIAN = frozenset("""
а без более бы был была были было быть в вам вас весь во вот все всё всего всей всем всеми всех вся вы
где да даже для до его ее её ей ему если есть еще ещё же за здесь и из или им ими их к как какая
какие какой каких когда кого кто куда ли лишь между меня мне мной мы на над надо наш наша наше наши
не него нее неё ней нельзя нем нём ни них ничего но ну о об обо однако он она они оно от ото очень
по под после потом потому почему при про раз с сам сама сами само свое своё свой своей своего
своих свои своим свою себе себя сейчас со собой так также такие такой там тебе тебя то тогда того
тоже той только том тот ту тут ты у уж уже хотя чего чем через что чтобы чтоб чье чьё эта эти этим
этих это этого этой этом этот эту я
который которая которое которые которого которой котором которым которых которую
будет будут будем будешь буду является являются стал стала стали стало может могут можно
сказал сказала сказали заявил заявила заявили сообщил сообщила сообщили говорит говорят словам
также кроме около против среди ради вместо вокруг перед затем поэтому именно ведь вновь снова
год года году лет сегодня вчера
""".split())
